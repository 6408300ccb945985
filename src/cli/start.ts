/** `ctr start CONTAINER…`: start created or stopped containers; `-a` attaches to one. */
import type { CAC } from "cac";
import { CtrError } from "../errors.ts";
import { containerStore, startContainer } from "../runtime/container.ts";
import type { CommandContext } from "./command.ts";
import { forEachContainer } from "./container-targets.ts";
import { bool, str } from "./options.ts";

export function registerStart(cli: CAC, ctx: CommandContext): void {
  cli
    .command("start [...containers]", "Start one or more containers")
    .option("-a, --attach", "Attach the container's output and wait for it to exit")
    .option("-i, --interactive", "Attach the container's stdin")
    .option("--detach-keys <keys>", "Key sequence for detaching (default ctrl-p,ctrl-q)")
    .action(async (names: string[], o: Record<string, unknown>) => {
      const attach = bool(o.attach) || bool(o.interactive);
      if (attach) {
        if (names.length !== 1) throw new CtrError("you cannot start and attach multiple containers at once", { kind: "invalid" });
        const rec = containerStore().get(String(names[0]));
        return startContainer(rec, { detach: false, stdin: bool(o.interactive), detachKeys: str(o.detachKeys), log: ctx.err });
      }
      return forEachContainer(ctx, names, "start", async (rec, name) => {
        await startContainer(rec, { detach: true, log: ctx.err });
        ctx.out(name);
      });
    });
}

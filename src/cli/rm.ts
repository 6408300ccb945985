/** `ctr rm CONTAINER…`: remove containers; `-f` kills running ones first. */
import type { CAC } from "cac";
import { CtrError, errorText } from "../errors.ts";
import { containerStore, removeContainer } from "../runtime/container.ts";
import type { CommandContext } from "./command.ts";
import { bool } from "./options.ts";

export function registerRm(cli: CAC, ctx: CommandContext): void {
  cli
    .command("rm [...containers]", "Remove one or more containers")
    .option("-f, --force", "Force removal of a running container")
    .option("-a, --all", "Remove all containers")
    .action(async (names: string[], o: Record<string, unknown>) => {
      const store = containerStore();
      const targets = bool(o.all) ? store.list().map((c) => c.id) : names.map(String);
      if (targets.length === 0) throw new CtrError("rm requires at least one container name or ID (or --all)", { kind: "invalid" });
      let code = 0;
      for (const t of targets) {
        try {
          await removeContainer(store.get(t), bool(o.force));
          ctx.out(t);
        } catch (err) {
          // docker goes on with the others and reports each failure
          ctx.err(`Error: ${errorText(err)}`);
          code = err instanceof CtrError && err.kind === "not-found" ? 1 : 125;
        }
      }
      return code;
    });
}

/** `ctr run IMAGE [COMMAND [ARG…]]`: create a container and start it, attached or detached. */
import type { CAC } from "cac";
import { removeContainer, startContainer } from "../runtime/container.ts";
import type { CommandContext } from "./command.ts";
import { bool, str } from "./options.ts";
import { createFromFlags } from "./create.ts";
import { containerFlags } from "./run-flags.ts";

export function registerRun(cli: CAC, ctx: CommandContext): void {
  containerFlags(cli.command("run <image> [...command]", "Run a command in a new container").option("-d, --detach", "Run the container in the background and print its ID")).action(
    async (image: string, _command: string[], o: Record<string, unknown>) => {
      const detach = bool(o.detach);
      const rec = await createFromFlags(image, o, ctx);
      let status: number;
      try {
        status = await startContainer(rec, { detach, stdin: bool(o.interactive), sigProxy: o.sigProxy !== false, detachKeys: str(o.detachKeys), log: ctx.err });
      } catch (err) {
        // The container never ran, so its monitor's --rm never happens.
        if (rec.autoRemove) await removeContainer(rec, true).catch(() => {});
        throw err;
      }
      if (detach) ctx.out(rec.id);
      return detach ? 0 : status;
    },
  );
}

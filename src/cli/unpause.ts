/** `ctr unpause CONTAINER…`: resume the processes `pause` stopped. */
import type { CAC } from "cac";
import { pauseContainer } from "../runtime/processes.ts";
import type { CommandContext } from "./command.ts";
import { forEachContainer } from "./container-targets.ts";

export function registerUnpause(cli: CAC, ctx: CommandContext): void {
  cli.command("unpause [...containers]", "Unpause all processes within one or more containers").action(async (names: string[]) =>
    forEachContainer(ctx, names, "unpause", (rec, name) => {
      pauseContainer(rec, false);
      ctx.out(name);
    }),
  );
}

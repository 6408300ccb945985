/** `ctr pause` / `ctr unpause CONTAINER…`: stop and resume every process of a container. */
import type { CAC } from "cac";
import { pauseContainer } from "../runtime/processes.ts";
import type { CommandContext } from "./command.ts";
import { forEachContainer } from "./container-targets.ts";

export function registerPause(cli: CAC, ctx: CommandContext): void {
  cli.command("pause [...containers]", "Pause all processes within one or more containers").action(async (names: string[]) =>
    forEachContainer(ctx, names, "pause", (rec, name) => {
      pauseContainer(rec, true);
      ctx.out(name);
    }),
  );
}

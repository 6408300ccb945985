/** `ctr restart [-t N] CONTAINER…`: stop (as `stop`), then start detached. */
import type { CAC } from "cac";
import { startContainer, stopContainer } from "../runtime/container.ts";
import type { CommandContext } from "./command.ts";
import { forEachContainer } from "./container-targets.ts";
import { parseSeconds } from "./run-flags.ts";

export function registerRestart(cli: CAC, ctx: CommandContext): void {
  cli
    .command("restart [...containers]", "Restart one or more containers")
    .option("-t, --time <seconds>", "Seconds to wait before killing the container")
    .action(async (names: string[], o: Record<string, unknown>) => {
      const timeout = parseSeconds("time", o.time);
      return forEachContainer(ctx, names, "restart", async (rec, name) => {
        await stopContainer(rec, timeout);
        await startContainer(rec, { detach: true, log: ctx.err });
        ctx.out(name);
      });
    });
}

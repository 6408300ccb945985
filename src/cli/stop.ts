/** `ctr stop [-t N] CONTAINER…`: the stop signal, then SIGKILL after the timeout. */
import type { CAC } from "cac";
import { stopContainer } from "../runtime/container.ts";
import type { CommandContext } from "./command.ts";
import { forEachContainer } from "./container-targets.ts";
import { parseSeconds } from "./run-flags.ts";

export function registerStop(cli: CAC, ctx: CommandContext): void {
  cli
    .command("stop [...containers]", "Stop one or more running containers")
    .option("-t, --time <seconds>", "Seconds to wait before killing the container")
    .action(async (names: string[], o: Record<string, unknown>) => {
      const timeout = parseSeconds("time", o.time);
      return forEachContainer(ctx, names, "stop", async (rec, name) => {
        await stopContainer(rec, timeout);
        ctx.out(name);
      });
    });
}

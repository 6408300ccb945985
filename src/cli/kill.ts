/** `ctr kill [-s SIGNAL] CONTAINER…`: send a signal (default SIGKILL) to the container's init. */
import type { CAC } from "cac";
import { killContainer, signalNumber } from "../runtime/container.ts";
import type { CommandContext } from "./command.ts";
import { forEachContainer } from "./container-targets.ts";
import { str } from "./options.ts";

export function registerKill(cli: CAC, ctx: CommandContext): void {
  cli
    .command("kill [...containers]", "Kill one or more running containers with a signal")
    .option("-s, --signal <signal>", "Signal to send (default SIGKILL)")
    .action(async (names: string[], o: Record<string, unknown>) => {
      const signal = signalNumber(str(o.signal) ?? "SIGKILL");
      return forEachContainer(ctx, names, "kill", (rec, name) => {
        killContainer(rec, signal);
        ctx.out(name);
      });
    });
}

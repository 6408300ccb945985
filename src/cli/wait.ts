/** `ctr wait CONTAINER…`: block until each container stops; print its exit code. */
import type { CAC } from "cac";
import { waitContainer } from "../runtime/container.ts";
import type { CommandContext } from "./command.ts";
import { forEachContainer } from "./container-targets.ts";

export function registerWait(cli: CAC, ctx: CommandContext): void {
  cli.command("wait [...containers]", "Block until one or more containers stop, then print their exit codes").action(async (names: string[]) =>
    forEachContainer(ctx, names, "wait", async (rec) => {
      ctx.out(String(await waitContainer(rec)));
    }),
  );
}

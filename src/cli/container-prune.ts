/** `ctr container prune`: remove every container that is not running. */
import type { CAC } from "cac";
import { containerStore, removeContainer, stateDirOf } from "../runtime/container.ts";
import { readLiveState } from "../runtime/state.ts";
import type { CommandContext } from "./command.ts";
import { bool } from "./options.ts";

async function confirm(ctx: CommandContext): Promise<boolean> {
  ctx.err("WARNING! This will remove all non running containers.");
  process.stderr.write("Are you sure you want to continue? [y/N] ");
  for await (const line of console) return /^y(es)?$/i.test(line.trim());
  return false;
}

export function registerContainerPrune(cli: CAC, ctx: CommandContext): void {
  cli
    .command("container-prune", "Remove all stopped containers")
    .option("-f, --force", "Do not prompt for confirmation")
    .action(async (o: Record<string, unknown>) => {
      if (!bool(o.force) && !(await confirm(ctx))) return 0;
      for (const c of containerStore().list()) {
        const status = readLiveState(stateDirOf(c.id)).status;
        if (status === "running" || status === "restarting") continue;
        await removeContainer(c, false);
        ctx.out(c.id);
      }
      return 0;
    });
}

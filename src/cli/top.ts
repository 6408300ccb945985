/** `ctr top CONTAINER [ps OPTIONS]`: the container's processes, as the host's `ps` shows them. */
import type { CAC } from "cac";
import { CtrError } from "../errors.ts";
import { containerStore } from "../runtime/container.ts";
import { containerPids } from "../runtime/processes.ts";
import type { CommandContext } from "./command.ts";

export function registerTop(cli: CAC, ctx: CommandContext): void {
  cli
    .command("top <container> [...options]", "Display the running processes of a container")
    .action(async (container: string) => {
      const pids = containerPids(containerStore().get(String(container)));
      // What follows the container is ps's, not ours (a pass-through verb).
      const args = ctx.rest.length > 0 ? ctx.rest : ["-f"];
      // As docker: ps's own selection is replaced by the container's pids.
      const proc = Bun.spawnSync(["ps", ...args, "-p", pids.join(",")], { stdio: ["ignore", "pipe", "pipe"] });
      if (proc.exitCode !== 0) throw new CtrError(`ps ${args.join(" ")} failed: ${proc.stderr.toString().trim()}`);
      for (const line of proc.stdout.toString().trimEnd().split("\n")) ctx.out(line);
      return 0;
    });
}

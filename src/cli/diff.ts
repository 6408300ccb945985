/** `ctr diff CONTAINER`: what the container changed against its image, as `A|C|D path` lines. */
import type { CAC } from "cac";
import { containerStore } from "../runtime/container.ts";
import { containerChanges, rerunForContainer } from "../runtime/fs/container-fs.ts";
import type { CommandContext } from "./command.ts";
import { oneOf } from "./options.ts";

export function registerDiff(cli: CAC, ctx: CommandContext): void {
  cli
    .command("diff <container>", "Inspect changes to a container's filesystem")
    .option("--format <format>", "Output as json")
    .action(async (container: string, o: Record<string, unknown>) => {
      const format = oneOf("format", o.format, ["text", "json"], "text");
      const rec = containerStore().get(String(container));
      const rerun = await rerunForContainer(rec);
      if (rerun !== undefined) return rerun;
      const changes = containerChanges(rec);
      if (format === "json") {
        // podman's shape: paths grouped by kind.
        const out: Record<string, string[]> = {};
        const key = { A: "added", C: "changed", D: "deleted" } as const;
        for (const c of changes) (out[key[c.kind]] ??= []).push(c.path);
        ctx.out(JSON.stringify(out, null, 2));
        return 0;
      }
      for (const c of changes) ctx.out(`${c.kind} ${c.path}`);
      return 0;
    });
}

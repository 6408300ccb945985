/** `ctr export [-o FILE] CONTAINER`: the container's filesystem as a tar archive. */
import type { CAC } from "cac";
import { closeSync, openSync, renameSync, rmSync } from "node:fs";
import { isatty } from "node:tty";
import { CtrError } from "../errors.ts";
import { tmpName } from "../fs-util.ts";
import { containerStore } from "../runtime/container.ts";
import { exportContainer, rerunForContainer } from "../runtime/fs/container-fs.ts";
import type { CommandContext } from "./command.ts";
import { str } from "./options.ts";
import { writeAll } from "./write-all.ts";

export function registerExport(cli: CAC, _ctx: CommandContext): void {
  cli
    .command("export <container>", "Export a container's filesystem as a tar archive")
    .option("-o, --output <file>", "Write to a file instead of stdout")
    .action(async (container: string, o: Record<string, unknown>) => {
      const rec = containerStore().get(String(container));
      const output = str(o.output);
      if (!output && isatty(1)) throw new CtrError("refusing to export to terminal: use -o or redirect stdout", { kind: "invalid" });
      const rerun = await rerunForContainer(rec);
      if (rerun !== undefined) return rerun;
      if (!output) {
        await exportContainer(rec, (c) => writeAll(1, c));
        return 0;
      }
      // Written under a temporary name: a failed export leaves no half archive at OUTPUT.
      const tmp = tmpName(output);
      const fd = openSync(tmp, "w", 0o644);
      try {
        await exportContainer(rec, (c) => writeAll(fd, c));
        closeSync(fd);
        renameSync(tmp, output);
      } catch (err) {
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
        rmSync(tmp, { force: true });
        throw err;
      }
      return 0;
    });
}

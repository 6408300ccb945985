/** `ctr export [-o FILE] CONTAINER`: the container's filesystem as a tar archive. */
import type { CAC } from "cac";
import { isatty } from "node:tty";
import { CtrError } from "../errors.ts";
import { containerStore } from "../runtime/container.ts";
import { exportContainer, rerunForContainer } from "../runtime/fs/container-fs.ts";
import type { CommandContext } from "./command.ts";
import { str } from "./options.ts";
import { writeArchive } from "./write-all.ts";

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
      await writeArchive(output, (write) => exportContainer(rec, write));
      return 0;
    });
}

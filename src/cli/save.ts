/** `ctr save [-o FILE] [--format docker-archive|oci-archive] IMAGE…`: images into one tar archive. */
import type { CAC } from "cac";
import { isatty } from "node:tty";
import { CtrError } from "../errors.ts";
import { ARCHIVE_FORMATS, saveImages } from "../image/archive/save.ts";
import { openImageContext } from "../image/image-context.ts";
import type { CommandContext } from "./command.ts";
import { oneOf, str } from "./options.ts";
import { writeArchive } from "./write-all.ts";

export function registerSave(cli: CAC, _ctx: CommandContext): void {
  cli
    .command("save [...images]", "Save images to an archive")
    .option("-o, --output <file>", "Write to a file instead of stdout")
    .option("--format <format>", "docker-archive (default) or oci-archive")
    .option("-m, --multi-image-archive", "Accepted for podman compatibility: docker-archive always holds every image given")
    .option("-q, --quiet", "Suppress the output")
    .action(async (names: string[], o: Record<string, unknown>) => {
      if (names.length === 0) throw new CtrError("save requires at least one image", { kind: "invalid" });
      const format = oneOf("format", o.format, ARCHIVE_FORMATS, "docker-archive");
      const output = str(o.output);
      if (!output && isatty(1)) throw new CtrError("refusing to save to terminal: use -o or redirect stdout", { kind: "invalid" });
      const ctx = openImageContext();
      await writeArchive(output, (write) => saveImages(ctx, names.map(String), format, write));
      return 0;
    });
}

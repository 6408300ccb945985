/** `ctr save [-o FILE] [--format docker-archive|oci-archive] IMAGE…`: images into one tar archive. */
import type { CAC } from "cac";
import { closeSync, openSync, renameSync, rmSync } from "node:fs";
import { isatty } from "node:tty";
import { CtrError } from "../errors.ts";
import { ARCHIVE_FORMATS, saveImages } from "../image/archive/save.ts";
import { openImageContext } from "../image/image-context.ts";
import { tmpName } from "../fs-util.ts";
import type { CommandContext } from "./command.ts";
import { oneOf, str } from "./options.ts";
import { writeAll } from "./write-all.ts";

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
      if (!output) {
        await saveImages(ctx, names.map(String), format, (c) => writeAll(1, c));
        return 0;
      }
      // Written under a temporary name: a failed save leaves no half archive at OUTPUT.
      const tmp = tmpName(output);
      const fd = openSync(tmp, "w", 0o644);
      try {
        await saveImages(ctx, names.map(String), format, (c) => writeAll(fd, c));
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

/**
 * `ctr pull IMAGE`: fetch an image into the local store and print its ID.
 * On a terminal (stderr, where podman draws its bars too) each layer gets a
 * progress line; elsewhere, and with -q, the plain lines or nothing.
 */
import type { CAC } from "cac";
import { CtrError } from "../errors.ts";
import { openImageContext } from "../image/image-context.ts";
import { parsePlatform } from "../image/platform.ts";
import { terminalProgress } from "../image/progress.ts";
import { pullAllTags, pullImage } from "../image/pull.ts";
import type { CommandContext } from "./command.ts";
import { bool, str } from "./options.ts";

export function registerPull(cli: CAC, ctx: CommandContext): void {
  cli
    .command("pull [image]", "Pull an image from a registry")
    .option("-q, --quiet", "Print only the image ID")
    .option("-a, --all-tags", "Pull all tagged images in the repository")
    .option("--platform <os/arch>", "Pull the image for this platform")
    .action(async (positional: string | undefined, o: Record<string, unknown>) => {
      const image = positional;
      if (image === undefined) throw new CtrError("pull requires exactly one image name", { kind: "invalid" });
      const platform = str(o.platform);
      const quiet = bool(o.quiet);
      const progress = !quiet && process.stderr.isTTY ? terminalProgress((t) => process.stderr.write(t), process.stderr.columns, process.stderr.rows) : undefined;
      const opts = { log: quiet ? undefined : ctx.err, progress, platform: platform ? parsePlatform(platform) : undefined };
      const images = openImageContext();
      let recs;
      try {
        recs = bool(o.allTags) ? await pullAllTags(images, String(image), opts) : [await pullImage(images, String(image), opts)];
      } finally {
        progress?.close();
      }
      for (const id of new Set(recs.map((r) => r.id.slice(7)))) ctx.out(id);
      return 0;
    });
}

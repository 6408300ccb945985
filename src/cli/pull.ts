/** `ctr pull IMAGE`: fetch an image into the local store and print its ID. */
import type { CAC } from "cac";
import { openImageContext } from "../image/image-context.ts";
import { parsePlatform } from "../image/platform.ts";
import { pullImage } from "../image/pull.ts";
import type { CommandContext } from "./command.ts";
import { bool, str } from "./options.ts";

export function registerPull(cli: CAC, ctx: CommandContext): void {
  cli
    .command("pull <image>", "Pull an image from a registry")
    .option("-q, --quiet", "Print only the image ID")
    .option("--platform <os/arch>", "Pull the image for this platform")
    .action(async (image: string, o: Record<string, unknown>) => {
      const platform = str(o.platform);
      const rec = await pullImage(openImageContext(), String(image), {
        log: bool(o.quiet) ? undefined : ctx.err,
        platform: platform ? parsePlatform(platform) : undefined,
      });
      ctx.out(rec.id.slice(7));
      return 0;
    });
}

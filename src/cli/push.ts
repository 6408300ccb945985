/** `ctr push IMAGE [DESTINATION]`: upload a local image to a registry. */
import type { CAC } from "cac";
import { CtrError } from "../errors.ts";
import { openImageContext } from "../image/image-context.ts";
import { terminalProgress } from "../image/progress.ts";
import { pushImage } from "../image/push.ts";
import type { CommandContext } from "./command.ts";
import { bool, str } from "./options.ts";

export function registerPush(cli: CAC, ctx: CommandContext): void {
  cli
    .command("push [image] [destination]", "Push an image to a registry")
    .option("-q, --quiet", "Print nothing but errors")
    .option("--digestfile <file>", "Write the pushed manifest's digest to this file")
    .action(async (image: string | undefined, destination: string | undefined, o: Record<string, unknown>) => {
      if (!image) throw new CtrError("push requires an image", { kind: "invalid" });
      const quiet = bool(o.quiet);
      // Bars on a terminal (stderr, as podman draws them), plain lines elsewhere.
      const progress = !quiet && process.stderr.isTTY ? terminalProgress((t) => process.stderr.write(t), process.stderr.columns, process.stderr.rows) : undefined;
      let digest: string;
      try {
        digest = await pushImage(openImageContext(), String(image), destination === undefined ? undefined : String(destination), {
          log: quiet ? undefined : ctx.err,
          progress,
        });
      } finally {
        progress?.close();
      }
      const file = str(o.digestfile);
      if (file) await Bun.write(file, digest);
      return 0;
    });
}

/** `ctr image prune`: remove dangling images (`-a`: all unused), then unreferenced layers and blobs. */
import type { CAC } from "cac";
import { openImageContext } from "../image/image-context.ts";
import { pruneImages } from "../image/remove.ts";
import { containerStore } from "../runtime/container.ts";
import type { CommandContext } from "./command.ts";
import { bool } from "./options.ts";
import { containerUses } from "./rmi.ts";

export function registerImagePrune(cli: CAC, ctx: CommandContext): void {
  cli
    .command("image-prune", "Remove unused images")
    .option("-a, --all", "Remove all images not used by a container, not only dangling ones")
    .option("-f, --force", "Do not prompt for confirmation (ctr never prompts)")
    .action(async (o: Record<string, unknown>) => {
      const removed = await pruneImages(openImageContext(), { all: bool(o.all), containers: () => containerUses(containerStore()) });
      for (const id of removed) ctx.out(id);
      return 0;
    });
}

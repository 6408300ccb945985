/** `ctr commit [-c CHANGE]… [-m MSG] [--author A] [-p] CONTAINER [IMAGE]`: the container's changes as a new image. */
import type { CAC } from "cac";
import { openImageContext } from "../image/image-context.ts";
import { containerStore } from "../runtime/container.ts";
import { commitContainer, isRunning, rerunForContainer } from "../runtime/fs/container-fs.ts";
import { isPaused, pauseContainer } from "../runtime/processes.ts";
import type { CommandContext } from "./command.ts";
import { bool, list, str } from "./options.ts";

export function registerCommit(cli: CAC, ctx: CommandContext): void {
  cli
    .command("commit <container> [image]", "Create a new image from a container's changes")
    .option("-c, --change <instruction>", "Apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)")
    .option("-m, --message <text>", "Commit message")
    .option("-a, --author <name>", "Author of the image")
    .option("-p, --pause", "Pause the container while committing")
    .option("-q, --quiet", "Suppress output")
    .option("-f, --format <format>", "Accepted for podman compatibility: images are written as OCI")
    .action(async (container: string, image: string | undefined, o: Record<string, unknown>) => {
      const rec = containerStore().get(String(container));
      // Pausing keeps the files still while they are read; a container already paused stays so.
      const pause = bool(o.pause) && isRunning(rec) && !isPaused(rec);
      if (pause) pauseContainer(rec, true);
      try {
        const rerun = await rerunForContainer(rec);
        if (rerun !== undefined) return rerun;
        const committed = await commitContainer(openImageContext(), rec, {
          name: image === undefined ? undefined : String(image),
          changes: list(o.change),
          message: str(o.message),
          author: str(o.author),
        });
        ctx.out(committed.id.slice(7));
      } finally {
        if (pause) pauseContainer(rec, false);
      }
      return 0;
    });
}

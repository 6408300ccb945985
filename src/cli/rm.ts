/** `ctr rm CONTAINER…`: remove containers; `-f` stops running ones first (SIGKILL). */
import type { CAC } from "cac";
import { CtrError } from "../errors.ts";
import { containerStore, removeContainer } from "../runtime/container.ts";
import type { CommandContext } from "./command.ts";
import { forEachContainer } from "./container-targets.ts";
import { bool } from "./options.ts";
import { removeAnonymousVolumes } from "../volume/remove.ts";
import { volumeStore } from "../volume/volumes.ts";

export function registerRm(cli: CAC, ctx: CommandContext): void {
  cli
    .command("rm [...containers]", "Remove one or more containers")
    .option("-f, --force", "Force removal of a running container")
    .option("-a, --all", "Remove all containers")
    .option("-v, --volumes", "Remove the container's anonymous volumes")
    .action(async (names: string[], o: Record<string, unknown>) => {
      const targets = bool(o.all) ? containerStore().list().map((c) => c.id) : names.map(String);
      if (targets.length === 0) {
        if (bool(o.all)) return 0;
        throw new CtrError("rm requires at least one container name or ID (or --all)", { kind: "invalid" });
      }
      // podman: 1 when a container does not exist, 125 for other failures.
      return forEachContainer(ctx, targets, "rm", async (rec, name) => {
        await removeContainer(rec, bool(o.force));
        // Other containers are read only when there is a volume to check them for.
        if (bool(o.volumes) && rec.mounts?.some((m) => m.Anonymous)) await removeAnonymousVolumes(volumeStore(), rec, containerStore().list());
        ctx.out(name);
      }, 1);
    });
}

/**
 * `ctr rmi IMAGE…` / `ctr image rm`: remove images; `-f` also removes the
 * containers using them, as podman does. Exit 1 when an image was not
 * found, 2 when one is in use, 125 for anything else (podman's codes).
 */
import type { CAC } from "cac";
import { CtrError, errorText } from "../errors.ts";
import { openImageContext } from "../image/image-context.ts";
import { collectAfterRemove, removeImage, type ContainerUse } from "../image/remove.ts";
import type { ContainerStore } from "../runtime/container-store.ts";
import { containerStore, removeContainer } from "../runtime/container.ts";
import type { CommandContext } from "./command.ts";
import { bool } from "./options.ts";

/** What the image side needs to know about containers: which image and which layer dirs. */
export function containerUses(store: ContainerStore): ContainerUse[] {
  return store.list().map((c) => ({
    id: c.id,
    imageId: c.imageId,
    layers: c.rootfs.lowerDirs.flatMap((d) => {
      const m = /\/layers\/([a-f0-9]{64})\/diff$/.exec(d);
      return m ? [`sha256:${m[1]}`] : [];
    }),
  }));
}

export function registerRmi(cli: CAC, ctx: CommandContext): void {
  cli
    .command("rmi [...images]", "Remove one or more images from local storage")
    .option("-f, --force", "Remove the image even if it has several names or is used by containers (removing them)")
    .option("-a, --all", "Remove all images")
    .action(async (names: string[], o: Record<string, unknown>) => {
      const images = openImageContext();
      const store = containerStore();
      const force = bool(o.force);
      const targets = bool(o.all) ? images.images.list().map((i) => i.id) : names.map(String);
      if (targets.length === 0 && !bool(o.all)) throw new CtrError("rmi requires at least one image name or ID (or --all)", { kind: "invalid" });
      let code = 0;
      for (const t of targets) {
        try {
          const lines = await removeImage(images, t, {
            force: force || bool(o.all),
            containers: () => containerUses(store),
            removeContainer: (id) => removeContainer(store.get(id), true),
          });
          for (const l of lines) ctx.out(l);
        } catch (err) {
          // podman goes on with the others and reports each failure
          ctx.err(`Error: ${errorText(err)}`);
          const kind = err instanceof CtrError ? err.kind : "internal";
          code = kind === "not-found" ? 1 : kind === "conflict" ? 2 : 125;
        }
      }
      await collectAfterRemove(images, () => containerUses(store));
      return code;
    });
}

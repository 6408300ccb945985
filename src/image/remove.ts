/**
 * `rmi` and `image prune`: dropping names and images, then collecting what
 * no image needs any more. Containers are the caller's: it says which exist
 * and how to remove one, so this module never touches runtime state.
 */
import { CtrError } from "../errors.ts";
import { collectGarbage } from "./gc.ts";
import type { ImageContext } from "./image-context.ts";
import { requireLocalImage } from "./lookup.ts";
import type { ImageRecord } from "./store/image-store.ts";

/** What the caller knows about one container. */
export interface ContainerUse {
  id: string;
  imageId: string;
  /** DiffIDs of the layers the container's rootfs stacks. */
  layers: string[];
}

export interface RemoveOptions {
  force: boolean;
  containers: ContainerUse[];
  /** Removes a container (for `-f`, as podman does); called before its image goes. */
  removeContainer: (id: string) => Promise<void>;
}

/**
 * Removes one image as `rmi` does and returns the lines to print
 * (`Untagged: name`, `Deleted: id`). A name of an image with other names
 * only loses that name. Throws not-found for an unknown image and conflict
 * for an image in use or an ID with several names, unless forced.
 */
export async function removeImage(ctx: ImageContext, input: string, opts: RemoveOptions): Promise<string[]> {
  const { image: img, name: byName } = requireLocalImage(ctx, input);
  if (byName && img.names.length > 1) {
    await ctx.images.update((images) => {
      const rec = images.find((i) => i.id === img.id);
      if (rec) rec.names = rec.names.filter((n) => n !== byName);
    });
    return [`Untagged: ${byName}`];
  }
  if (!byName && img.names.length > 1 && !opts.force) {
    throw new CtrError(`unable to delete image "${img.id.slice(7)}" by ID with more than one tag (${JSON.stringify(img.names)}): please force removal`, { kind: "conflict" });
  }
  const users = opts.containers.filter((c) => c.imageId === img.id);
  if (users.length > 0) {
    if (!opts.force) {
      throw new CtrError(`image used by ${users[0]!.id}: image is in use by a container: consider listing external containers and force-removing image`, { kind: "conflict" });
    }
    for (const c of users) await opts.removeContainer(c.id);
  }
  await dropImages(ctx, [img.id]);
  return [...img.names.map((n) => `Untagged: ${n}`), `Deleted: ${img.id.slice(7)}`];
}

async function dropImages(ctx: ImageContext, ids: string[]): Promise<void> {
  await ctx.images.update((images) => {
    for (let i = images.length - 1; i >= 0; i--) if (ids.includes(images[i]!.id)) images.splice(i, 1);
  });
}

/**
 * `image prune`: removes dangling images (no name), or with `all` every
 * image no container uses, then unreferenced layers and blobs. Returns the
 * removed image IDs.
 */
export async function pruneImages(ctx: ImageContext, opts: { all: boolean; containers: ContainerUse[] }): Promise<string[]> {
  const used = new Set(opts.containers.map((c) => c.imageId));
  const victims = ctx.images.list().filter((i: ImageRecord) => !used.has(i.id) && (opts.all || i.names.length === 0));
  await dropImages(ctx, victims.map((v) => v.id));
  await collectGarbage(ctx, opts.containers.flatMap((c) => c.layers));
  return victims.map((v) => v.id.slice(7));
}

/** After `rmi`: the layers and blobs the removed images left behind. */
export async function collectAfterRemove(ctx: ImageContext, containers: ContainerUse[]): Promise<void> {
  await collectGarbage(ctx, containers.flatMap((c) => c.layers));
}

/**
 * `rmi` and `image prune`: dropping names and images, then collecting what
 * no image needs any more. Containers are the caller's: it says which exist
 * and how to remove one, so this module never touches runtime state.
 *
 * A container being created is not in that list yet: it holds its image
 * (see store/leases.ts) until its record is written. So the decision to drop
 * an image is taken under `gc.lock`, reading the holds first and the
 * containers after them (a hold ends only once its record exists).
 */
import { CtrError } from "../errors.ts";
import { withLock } from "../fs-util.ts";
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

/** The containers, or a function that lists them now (called under the lock, after the holds). */
export type ContainerUses = ContainerUse[] | (() => ContainerUse[]);

function listUses(c: ContainerUses): ContainerUse[] {
  return typeof c === "function" ? c() : c;
}

function inUse(by: string): CtrError {
  return new CtrError(`image used by ${by}: image is in use by a container: consider listing external containers and force-removing image`, { kind: "conflict" });
}

export interface RemoveOptions {
  force: boolean;
  containers: ContainerUses;
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
  const users = listUses(opts.containers).filter((c) => c.imageId === img.id);
  if (users.length > 0) {
    if (!opts.force) throw inUse(users[0]!.id);
    for (const c of users) await opts.removeContainer(c.id);
  }
  await withLock(ctx.leases.lockFile, async () => {
    // Forced, a container being created keeps its layers (the collector honours
    // the hold, then its record), as podman's keep theirs.
    if (!opts.force) {
      if (ctx.leases.held().images.has(img.id)) throw inUse("a container being created");
      const late = listUses(opts.containers).find((c) => c.imageId === img.id);
      if (late) throw inUse(late.id);
    }
    await dropImages(ctx, [img.id]);
  });
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
export async function pruneImages(ctx: ImageContext, opts: { all: boolean; containers: ContainerUses }): Promise<string[]> {
  const victims = await withLock(ctx.leases.lockFile, async () => {
    const held = ctx.leases.held().images;
    const used = new Set(listUses(opts.containers).map((c) => c.imageId));
    const out = ctx.images.list().filter((i: ImageRecord) => !used.has(i.id) && !held.has(i.id) && (opts.all || i.names.length === 0));
    await dropImages(ctx, out.map((v) => v.id));
    return out;
  });
  await collectAfterRemove(ctx, opts.containers);
  return victims.map((v) => v.id.slice(7));
}

/** After `rmi`: the layers and blobs the removed images left behind. */
export async function collectAfterRemove(ctx: ImageContext, containers: ContainerUses): Promise<void> {
  await collectGarbage(ctx, () => listUses(containers).flatMap((c) => c.layers));
}

/**
 * What the store holds and what could go, as plain data: the facts
 * `gatherFacts` (facts.ts) reads from disk, and the pure functions `system
 * df` and `system prune` plan with. Sizes are `du -sb` bytes of the
 * on-disk items: an unpacked layer directory, a blob file, a container's
 * directory, a volume's directory.
 *
 * An image's content is its unpacked layers plus its blobs (index,
 * manifest, config, compressed layers). Images share layers and blobs; a
 * shared item counts once, as podman counts a shared layer once.
 */
import type { Status } from "../runtime/state.ts";

export interface ImageFacts {
  id: string;
  names: string[];
  created?: string;
  /** DiffIDs of its layers, bottom-most first. */
  layers: string[];
  /** Digests of the blobs it needs that the store has. */
  blobs: string[];
}

export interface ContainerFacts {
  id: string;
  name: string;
  imageId: string;
  image: string;
  command: string[];
  created: string;
  status: Status;
  /** DiffIDs of the layers its rootfs stacks (kept even if its image goes). */
  layers: string[];
  /** Names of the volumes it mounts. */
  volumes: string[];
  /** Bytes of its directory (writable layer, bundle, log). */
  bytes: number;
}

export interface VolumeFacts {
  name: string;
  anonymous: boolean;
  created: string;
  bytes: number;
}

export interface StoreFacts {
  images: ImageFacts[];
  containers: ContainerFacts[];
  volumes: VolumeFacts[];
  /** Every unpacked layer in the store → bytes. */
  layers: Map<string, number>;
  /** Every blob in the store → bytes. */
  blobs: Map<string, number>;
  /** Layer DiffID → the blob it was unpacked from, when the store has that blob. */
  layerBlobs: Map<string, string>;
}

export const isActive = (c: ContainerFacts): boolean => c.status === "running" || c.status === "restarting";

/** The layers and blobs that `images` and `containers` need. */
export function needed(
  facts: Pick<StoreFacts, "layerBlobs">,
  images: Pick<ImageFacts, "layers" | "blobs">[],
  containers: Pick<ContainerFacts, "layers">[],
): { layers: Set<string>; blobs: Set<string> } {
  const layers = new Set<string>();
  const blobs = new Set<string>();
  for (const img of images) {
    for (const l of img.layers) layers.add(l);
    for (const b of img.blobs) blobs.add(b);
  }
  for (const c of containers) for (const l of c.layers) layers.add(l);
  for (const l of layers) {
    const b = facts.layerBlobs.get(l);
    if (b) blobs.add(b);
  }
  return { layers, blobs };
}

/** Layers and blobs the store has but nothing in `keep` needs, with their bytes. */
export function garbage(facts: Pick<StoreFacts, "layers" | "blobs">, keep: { layers: Set<string>; blobs: Set<string> }): { layers: string[]; blobs: string[]; bytes: number } {
  const layers = [...facts.layers.keys()].filter((l) => !keep.layers.has(l));
  const blobs = [...facts.blobs.keys()].filter((b) => !keep.blobs.has(b));
  const bytes = layers.reduce((s, l) => s + facts.layers.get(l)!, 0) + blobs.reduce((s, b) => s + facts.blobs.get(b)!, 0);
  return { layers, blobs, bytes };
}

export interface DfRow {
  Type: "Images" | "Containers" | "Local Volumes" | "Build Cache";
  Total: number;
  Active: number;
  RawSize: number;
  RawReclaimable: number;
}

/**
 * `system df`'s summary. Images: size is every layer and blob in the image
 * store, reclaimable what `system prune -a` would free of it (what no
 * container's image or layers need). Containers: reclaimable is the ones
 * not running. Volumes: reclaimable is the ones no container mounts.
 */
export function dfSummary(facts: StoreFacts): DfRow[] {
  const usedIds = new Set(facts.containers.map((c) => c.imageId));
  const usedImages = facts.images.filter((i) => usedIds.has(i.id));
  const sum = (xs: Iterable<number>) => [...xs].reduce((a, b) => a + b, 0);
  const imageBytes = sum(facts.layers.values()) + sum(facts.blobs.values());
  const mounted = new Set(facts.containers.flatMap((c) => c.volumes));
  return [
    {
      Type: "Images",
      Total: facts.images.length,
      Active: usedImages.length,
      RawSize: imageBytes,
      RawReclaimable: garbage(facts, needed(facts, usedImages, facts.containers)).bytes,
    },
    {
      Type: "Containers",
      Total: facts.containers.length,
      Active: facts.containers.filter(isActive).length,
      RawSize: sum(facts.containers.map((c) => c.bytes)),
      RawReclaimable: sum(facts.containers.filter((c) => !isActive(c)).map((c) => c.bytes)),
    },
    {
      Type: "Local Volumes",
      Total: facts.volumes.length,
      Active: facts.volumes.filter((v) => mounted.has(v.name)).length,
      RawSize: sum(facts.volumes.map((v) => v.bytes)),
      RawReclaimable: sum(facts.volumes.filter((v) => !mounted.has(v.name)).map((v) => v.bytes)),
    },
    { Type: "Build Cache", Total: 0, Active: 0, RawSize: 0, RawReclaimable: 0 },
  ];
}

export interface ImageUsage {
  image: ImageFacts;
  /** All its layers and blobs. */
  size: number;
  /** The part other images also use. */
  shared: number;
  containers: number;
}

/** `system df -v`: each image's size, the part it shares with other images, and its containers. */
export function imageUsage(facts: StoreFacts): ImageUsage[] {
  const users = new Map<string, number>();
  const items = (img: ImageFacts) => {
    const { layers, blobs } = needed(facts, [img], []);
    return [...[...layers].filter((l) => facts.layers.has(l)).map((l) => `l${l}`), ...[...blobs].filter((b) => facts.blobs.has(b)).map((b) => `b${b}`)];
  };
  const perImage = facts.images.map((img) => ({ img, items: items(img) }));
  for (const { items: its } of perImage) for (const it of its) users.set(it, (users.get(it) ?? 0) + 1);
  const bytes = (it: string) => (it[0] === "l" ? facts.layers.get(it.slice(1)) : facts.blobs.get(it.slice(1))) ?? 0;
  return perImage.map(({ img, items: its }) => ({
    image: img,
    size: its.reduce((s, it) => s + bytes(it), 0),
    shared: its.filter((it) => users.get(it)! > 1).reduce((s, it) => s + bytes(it), 0),
    containers: facts.containers.filter((c) => c.imageId === img.id).length,
  }));
}

export interface PrunePlan {
  containers: ContainerFacts[];
  volumes: VolumeFacts[];
  images: ImageFacts[];
}

/**
 * `system prune`: the containers not running; with `volumes`, the volumes
 * no remaining container mounts (named ones too, as podman); the images no
 * remaining container uses, only dangling ones unless `all`. The layers
 * and blobs left without users are worked out at removal time, under the
 * image store's lock (see {@link garbage}).
 */
export function planPrune(facts: StoreFacts, opts: { all: boolean; volumes: boolean }): PrunePlan {
  const containers = facts.containers.filter((c) => !isActive(c));
  const staying = facts.containers.filter(isActive);
  const mounted = new Set(staying.flatMap((c) => c.volumes));
  const usedImages = new Set(staying.map((c) => c.imageId));
  return {
    containers,
    volumes: opts.volumes ? facts.volumes.filter((v) => !mounted.has(v.name)) : [],
    images: facts.images.filter((i) => !usedImages.has(i.id) && (opts.all || i.names.length === 0)),
  };
}

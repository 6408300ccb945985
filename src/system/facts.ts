/**
 * Reads the store into {@link StoreFacts}: images, layers and blobs through
 * the image store's exports, containers and their live status, volumes,
 * and the `du -sb` size of each item on disk.
 */
import { basename, dirname } from "node:path";
import type { ImageContext } from "../image/image-context.ts";
import type { ImageRecord } from "../image/store/image-store.ts";
import type { LayerRecord } from "../image/store/layer-store.ts";
import type { Index, Manifest } from "../oci/image.ts";
import type { ContainerRecord, ContainerStore } from "../runtime/container-store.ts";
import { stateDirOf } from "../runtime/container.ts";
import { readLiveState } from "../runtime/state.ts";
import type { VolumeStore } from "../volume/store.ts";
import { diskUsage, type SeenInodes } from "./du.ts";
import type { ContainerFacts, ImageFacts, StoreFacts, VolumeFacts } from "./usage.ts";

/** A manifest or index blob, or undefined when it is missing or not JSON. */
export function readDoc(ctx: ImageContext, digest: string): Partial<Manifest & Index> | undefined {
  try {
    return ctx.content.readJson<Partial<Manifest & Index>>(digest);
  } catch {
    return undefined;
  }
}

/** The blobs an image needs that the store has: index, manifest, config, compressed layers (as gc keeps them). */
export function imageBlobs(ctx: ImageContext, img: ImageRecord): string[] {
  const out = new Set<string>();
  for (const d of [img.indexDigest, img.manifestDigest, img.id]) if (d) out.add(d);
  for (const d of [img.manifestDigest, img.indexDigest]) {
    if (!d || !ctx.content.has(d)) continue;
    const doc = readDoc(ctx, d);
    if (doc?.config) out.add(doc.config.digest);
    for (const l of doc?.layers ?? []) out.add(l.digest);
    for (const m of doc?.manifests ?? []) out.add(m.digest);
  }
  return [...out].filter((d) => safeHas(ctx, d));
}

function safeHas(ctx: ImageContext, digest: string): boolean {
  try {
    return ctx.content.has(digest);
  } catch {
    return false; // not a sha256 digest: nothing stored under it
  }
}

/** A layer's record, or undefined when it is missing or damaged. */
export function layerRecord(ctx: ImageContext, diffId: string): LayerRecord | undefined {
  try {
    return ctx.layers.get(diffId);
  } catch {
    return undefined;
  }
}

/** DiffIDs of the layer directories a container's rootfs stacks. */
export function containerLayers(rec: ContainerRecord): string[] {
  return rec.rootfs.lowerDirs.flatMap((d) => {
    const hex = basename(dirname(d));
    return basename(d) === "diff" && /^[a-f0-9]{64}$/.test(hex) ? [`sha256:${hex}`] : [];
  });
}

export function containerFacts(store: ContainerStore, rec: ContainerRecord, seen: SeenInodes): ContainerFacts {
  return {
    id: rec.id,
    name: rec.name,
    imageId: rec.imageId,
    image: rec.imageName || rec.image,
    command: rec.command,
    created: rec.created,
    status: readLiveState(stateDirOf(rec.id)).status,
    layers: containerLayers(rec),
    volumes: (rec.mounts ?? []).flatMap((m) => (m.Type === "volume" && m.Name ? [m.Name] : [])),
    bytes: diskUsage(store.dir(rec.id), seen),
  };
}

export function volumeFacts(store: VolumeStore, seen: SeenInodes): VolumeFacts[] {
  return store.list().map((v) => ({ name: v.Name, anonymous: v.Anonymous, created: v.CreatedAt, bytes: diskUsage(store.dir(v.Name), seen) }));
}

/** Images, layers and blobs of the image store, sized. */
export function imageFacts(ctx: ImageContext, seen: SeenInodes = new Set()): Pick<StoreFacts, "images" | "layers" | "blobs" | "layerBlobs"> {
  const images: ImageFacts[] = ctx.images.list().map((img) => ({ id: img.id, names: img.names, created: img.created, layers: img.layers, blobs: imageBlobs(ctx, img) }));
  const layers = new Map<string, number>();
  const layerBlobs = new Map<string, string>();
  for (const d of ctx.layers.list()) {
    layers.set(d, diskUsage(dirname(ctx.layers.diffDir(d)), seen));
    const blob = layerRecord(ctx, d)?.blobDigest;
    if (blob && safeHas(ctx, blob)) layerBlobs.set(d, blob);
  }
  const blobs = new Map<string, number>();
  for (const b of ctx.content.list()) blobs.set(b, diskUsage(ctx.content.path(b), seen));
  return { images, layers, blobs, layerBlobs };
}

export function gatherFacts(ctx: ImageContext, containers: ContainerStore, volumes: VolumeStore): StoreFacts {
  const seen: SeenInodes = new Set();
  return {
    ...imageFacts(ctx, seen),
    containers: containers.list().map((c) => containerFacts(containers, c, seen)),
    volumes: volumeFacts(volumes, seen),
  };
}

/**
 * Garbage collection: blobs and unpacked layers no image refers to.
 *
 * Runs under `gc.lock` and does nothing while a pull or load holds a lease
 * (see `store/leases.ts`), so content committed by a writer that has not yet
 * named its image is never taken away from under it. The image a container
 * is being created from (a hold, same file) keeps its layers and config.
 */
import { withLock } from "../fs-util.ts";
import type { Index, Manifest } from "../oci/image.ts";
import type { ImageContext } from "./image-context.ts";

export interface GcResult {
  /** False when a live pull or load made the collector stand back. */
  ran: boolean;
  layers: number;
  blobs: number;
  bytes: number;
}

/**
 * @param keepLayers DiffIDs to keep even without an image (layers of containers whose image was
 *   force-removed); a function is called under the lock, after the holds are read, so that a
 *   container whose hold ended meanwhile is seen by its record
 */
export async function collectGarbage(ctx: ImageContext, keepLayers: Iterable<string> | (() => Iterable<string>) = []): Promise<GcResult> {
  return withLock(ctx.leases.lockFile, async () => {
    const result: GcResult = { ran: false, layers: 0, blobs: 0, bytes: 0 };
    if (ctx.leases.anyLive()) return result;
    result.ran = true;
    const held = ctx.leases.held();
    const layers = new Set([...held.layers, ...(typeof keepLayers === "function" ? keepLayers() : keepLayers)]);
    const blobs = new Set<string>(held.images);
    for (const img of ctx.images.list()) {
      for (const d of img.layers) layers.add(d);
      for (const d of [img.id, img.manifestDigest, img.indexDigest]) if (d) blobs.add(d);
      for (const d of [img.manifestDigest, img.indexDigest]) {
        if (!d || !ctx.content.has(d)) continue;
        const doc = readDoc(ctx, d);
        if (doc?.config) blobs.add(doc.config.digest);
        for (const l of doc?.layers ?? []) blobs.add(l.digest);
        // An index's other platforms are not stored; only the children we have are kept.
        for (const m of doc?.manifests ?? []) if (ctx.content.has(m.digest)) blobs.add(m.digest);
      }
    }
    for (const d of layers) {
      const blob = ctx.layers.get(d)?.blobDigest;
      if (blob) blobs.add(blob);
    }
    for (const d of ctx.layers.list()) {
      if (layers.has(d)) continue;
      result.bytes += ctx.layers.get(d)?.size ?? 0;
      await ctx.layers.remove(d);
      result.layers++;
    }
    for (const d of ctx.content.list()) {
      if (blobs.has(d)) continue;
      result.bytes += ctx.content.size(d);
      ctx.content.remove(d);
      result.blobs++;
    }
    await ctx.layers.sweepIncoming();
    return result;
  });
}

function readDoc(ctx: ImageContext, digest: string): Partial<Manifest & Index> | undefined {
  try {
    return ctx.content.readJson<Partial<Manifest & Index>>(digest);
  } catch {
    return undefined;
  }
}

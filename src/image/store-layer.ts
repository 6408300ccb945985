/**
 * One layer blob stream into both stores at once: the content store (size
 * and digest checked) and the layer store (unpacked, DiffID checked). Used
 * by pull (from a registry) and load (from an archive); neither store sees
 * the other, and a failed check leaves both as they were.
 */
import { dirname } from "node:path";
import { CtrError } from "../errors.ts";
import type { Descriptor } from "../oci/image.ts";
import type { ImageContext } from "./image-context.ts";
import { unpackLayerKeepingOwners } from "./unpack/userns-unpack.ts";

/**
 * @param open the blob's bytes; called only when the blob is not stored yet
 * @param diffId what the image config says the uncompressed tar hashes to
 */
export async function storeLayer(ctx: ImageContext, desc: Descriptor, diffId: string, open: () => Promise<ReadableStream<Uint8Array>>): Promise<void> {
  const what = `layer ${desc.digest}`;
  const haveBlob = ctx.content.has(desc.digest);
  if (haveBlob && ctx.layers.has(diffId)) return;
  const ingest = haveBlob ? undefined : ctx.content.ingest(desc.digest, desc.size, what);
  const prepared = ctx.layers.prepare();
  try {
    let stream: ReadableStream<Uint8Array>;
    if (haveBlob) {
      stream = Bun.file(ctx.content.path(desc.digest)).stream();
    } else {
      stream = (await open()).pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, ctl) {
            ingest!.write(chunk);
            ctl.enqueue(chunk);
          },
        }),
      );
    }
    const result = await unpackLayerKeepingOwners(stream, desc.mediaType, prepared.diffDir, desc.digest, dirname(ctx.layers.root));
    // DiffID before commit: a blob true to its digest but not to the config must not stay either.
    if (result.diffId !== diffId) throw new CtrError(`${what}: uncompressed content does not match the config's diff_id ${diffId}: got ${result.diffId}`, { kind: "invalid" });
    ingest?.commit();
    await prepared.commit({ diffId, blobDigest: desc.digest, size: result.size });
  } catch (err) {
    ingest?.abort();
    await prepared.abort().catch(() => undefined);
    throw err;
  }
}

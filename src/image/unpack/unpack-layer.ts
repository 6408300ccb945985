/**
 * One layer blob stream (compressed as its media type says) into one layer
 * directory: decompress, then apply. Returns the DiffID computed over every
 * uncompressed byte, which the caller checks against the image config; the
 * decompressing thread computes it (see decompressLayerSummed), so that the
 * thread writing the files does not.
 */
import { CtrError } from "../../errors.ts";
import { applyLayer, type ApplyLayerResult } from "./apply-layer.ts";
import { decompressLayerSummed } from "./decompress.ts";

export async function unpackLayerStream(blob: ReadableStream<Uint8Array>, mediaType: string, destDir: string, digest: string, opts: { chown?: boolean } = {}): Promise<ApplyLayerResult> {
  const { tar, sum } = decompressLayerSummed(blob, mediaType, { name: digest });
  const result = await applyLayer(tar, destDir, { name: digest, chown: opts.chown, hash: false });
  // applyLayer reads its input to the end: the sum covers every byte, and is there.
  const s = sum();
  if (!s || s.size !== result.size) throw new CtrError(`cannot unpack layer ${digest}: the tar was not read to its end`);
  return { ...result, diffId: s.digest };
}

/**
 * One layer blob stream (compressed as its media type says) into one layer
 * directory: decompress, then apply. Returns the DiffID computed over every
 * uncompressed byte, which the caller checks against the image config.
 */
import { applyLayer, type ApplyLayerResult } from "./apply-layer.ts";
import { decompressLayer } from "./decompress.ts";

export function unpackLayerStream(blob: ReadableStream<Uint8Array>, mediaType: string, destDir: string, digest: string, opts: { chown?: boolean } = {}): Promise<ApplyLayerResult> {
  return applyLayer(decompressLayer(blob, mediaType, { name: digest }), destDir, { name: digest, chown: opts.chown });
}

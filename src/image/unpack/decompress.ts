/**
 * Turns a layer blob into its tar stream: gzip and zstd through Bun's
 * native `DecompressionStream` (gzip runs about ten times faster there than
 * in fflate), on a worker thread (decompress-thread.ts) so that the
 * consumer's work overlaps it, plain tar as it is.
 *
 * The media type only says whether we know the layer kind at all; the
 * compression is read from the data's magic bytes, as containerd and
 * containers/image do, because registries and tools mislabel layers (a
 * `tar` that is really gzip, a gzip that was stored uncompressed).
 * Corrupt or truncated compressed data becomes a `CtrError`, while errors of
 * the blob stream itself (the network) pass through unchanged.
 */
import { CtrError, errorText } from "../../errors.ts";
import { MediaType } from "../../oci/image.ts";
import { decompressOnThread, type StreamSum, type ThreadedStream } from "./decompress-thread.ts";

export type Compression = "none" | "gzip" | "zstd";

/** Layer media types we unpack, with the compression they declare. */
const LAYER_TYPES: ReadonlyMap<string, Compression> = new Map<string, Compression>([
  [MediaType.ociLayer, "none"],
  [MediaType.ociLayerGzip, "gzip"],
  [MediaType.ociLayerZstd, "zstd"],
  [MediaType.dockerLayerGzip, "gzip"],
  ["application/vnd.docker.image.rootfs.diff.tar", "none"],
  ["application/vnd.docker.image.rootfs.diff.tar.zstd", "zstd"],
  ["application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "gzip"],
  ["application/vnd.oci.image.layer.nondistributable.v1.tar", "none"],
  ["application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "gzip"],
  ["application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", "zstd"],
]);

/**
 * The compression a layer media type declares.
 *
 * @throws CtrError (kind "invalid") for a media type that is not a layer we can unpack
 */
export function declaredCompression(mediaType: string): Compression {
  const c = LAYER_TYPES.get(mediaType);
  if (c === undefined) throw new CtrError(`unsupported layer media type "${mediaType}"`, { kind: "invalid" });
  return c;
}

/** The compression that the first bytes of a blob show; "none" for anything else (a tar starts with a file name). */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return "gzip";
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  // zstd skippable frames (magic 0x184D2A50..5F, little-endian) may come first.
  if (head.length >= 4 && (head[0]! & 0xf0) === 0x50 && head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18) return "zstd";
  return "none";
}

export interface DecompressOptions {
  /** The layer's digest, for messages. */
  name?: string;
}

/**
 * The uncompressed tar stream of a layer blob.
 *
 * @param blob the blob as stored or as it arrives from the registry
 * @param mediaType the descriptor's media type; checked at once
 * @throws CtrError at once for an unsupported media type; the returned
 *   stream errors with a CtrError (kind "invalid") on corrupt or
 *   truncated compressed data
 * @example
 * const tar = decompressLayer(Bun.file(path).stream(), desc.mediaType, { name: desc.digest });
 */
export function decompressLayer(blob: ReadableStream<Uint8Array>, mediaType: string, opts: DecompressOptions = {}): ReadableStream<Uint8Array> {
  return decompressing(blob, mediaType, opts, false).tar;
}

export interface SummedTar {
  tar: ReadableStream<Uint8Array>;
  /**
   * The sha256 (the DiffID) and length of every byte `tar` gave, once it
   * has ended; undefined before. Taken on the decompressing thread where
   * there is one, so that the consumer need not hash.
   */
  sum(): StreamSum | undefined;
}

/** {@link decompressLayer}, and the DiffID of what it gave. */
export function decompressLayerSummed(blob: ReadableStream<Uint8Array>, mediaType: string, opts: DecompressOptions = {}): SummedTar {
  return decompressing(blob, mediaType, opts, true);
}

function decompressing(blob: ReadableStream<Uint8Array>, mediaType: string, opts: DecompressOptions, summing: boolean): SummedTar {
  declaredCompression(mediaType);
  const what = opts.name ? `layer ${opts.name}` : "layer";
  const source = blob.getReader();
  let sourceError: { err: unknown } | undefined;
  let inner: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let compression: Compression = "none";
  let threaded: ThreadedStream | undefined;
  // Hashed here unless the worker does it.
  let hasher: Bun.CryptoHasher | undefined;
  let size = 0;
  let ended = false;
  let summed: StreamSum | undefined;

  const readSource = async () => {
    try {
      return await source.read();
    } catch (err) {
      sourceError = { err };
      throw err;
    }
  };

  const open = async (): Promise<ReadableStreamDefaultReader<Uint8Array>> => {
    // Gather enough bytes to see a magic number; tiny first chunks happen with slow networks.
    const head: Uint8Array[] = [];
    let have = 0;
    let done = false;
    while (have < 4) {
      const r = await readSource();
      if (r.done) {
        done = true;
        break;
      }
      head.push(r.value);
      have += r.value.length;
    }
    compression = detectCompression(concat(head, 4));
    const replay = new ReadableStream<Uint8Array>({
      pull: async (ctl) => {
        const next = head.shift();
        if (next) return ctl.enqueue(next);
        if (done) return ctl.close();
        const r = await readSource();
        if (r.done) ctl.close();
        else ctl.enqueue(r.value);
      },
      cancel: (reason) => source.cancel(reason),
    });
    if (compression !== "none") threaded = decompressOnThread(replay, compression, { hash: summing });
    if (threaded) return threaded.stream.getReader();
    if (summing) hasher = new Bun.CryptoHasher("sha256");
    if (compression === "none") return replay.getReader();
    // Bun types DecompressionStream's input as BufferSource; it reads Uint8Array chunks all the same.
    const decompress = new DecompressionStream(compression as CompressionFormat) as unknown as ReadableWritablePair<Uint8Array, Uint8Array>;
    return replay.pipeThrough(decompress).getReader();
  };

  const tar = new ReadableStream<Uint8Array>({
    pull: async (ctl) => {
      try {
        inner ??= await open();
        const r = await inner.read();
        if (r.done) {
          ended = true;
          ctl.close();
        } else {
          hasher?.update(r.value);
          size += r.value.length;
          ctl.enqueue(r.value);
        }
      } catch (err) {
        ctl.error(sourceError ? sourceError.err : decompressError(what, compression, err));
      }
    },
    cancel: async (reason) => {
      await (inner ? inner.cancel(reason) : source.cancel(reason));
    },
  });
  const sum = (): StreamSum | undefined => {
    if (!ended || !summing) return undefined;
    if (threaded) return threaded.sum();
    summed ??= { digest: `sha256:${hasher!.digest("hex")}`, size };
    return summed;
  };
  return { tar, sum };
}

function decompressError(what: string, compression: Compression, err: unknown): CtrError {
  if (err instanceof CtrError) return err;
  const text = errorText(err);
  if (/unexpected end/i.test(text)) return new CtrError(`${what} is truncated: the ${compression} data ends early`, { kind: "invalid", cause: err });
  return new CtrError(`${what} is corrupt: cannot decompress its ${compression} data ("${text}")`, { kind: "invalid", cause: err });
}

function concat(chunks: Uint8Array[], max: number): Uint8Array {
  const out = new Uint8Array(Math.min(max, chunks.reduce((n, c) => n + c.length, 0)));
  let at = 0;
  for (const c of chunks) {
    if (at >= out.length) break;
    const part = c.subarray(0, out.length - at);
    out.set(part, at);
    at += part.length;
  }
  return out;
}

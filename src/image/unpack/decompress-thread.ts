/**
 * Decompression driven by a thread of its own: a `DecompressionStream` in a
 * Worker, so that inflating a layer (about a third of a pull's CPU) runs
 * ahead, beside the tar parsing and file creation, instead of between them.
 * Bun inflates on its thread pool, but one chunk at a time as the stream is
 * read, and the unpacking thread, busy with synchronous file writes, reads
 * it only between entries: measured, inflating and unpacking took the sum
 * of their times. The worker's event loop keeps the inflating going.
 *
 * The worker also hashes what it inflates (the layer's DiffID, 50 ms for a
 * 78 MB tar), which the unpacking thread would otherwise do.
 *
 * Compressed chunks go to the worker and inflated chunks come back as
 * transferred buffers (no copy), each way with a bounded window so that
 * neither side runs ahead of the other by more than a few MiB. The worker's
 * code is a string (a Blob URL): a compiled ctr has no file to point a
 * Worker at without a second build entry point.
 */
import { CtrError } from "../../errors.ts";

/** Bytes of input sent to the worker and not yet taken by its decompressor. */
const IN_WINDOW = 1 << 20;
/** Bytes of output the worker may inflate before the reader takes them. */
const OUT_WINDOW = 8 << 20;
/** Taken output is acknowledged in batches of this much: a message per chunk costs the reader more than the batching. */
const ACK_BATCH = 1 << 20;

/** The worker's side, plain JavaScript; the format, the output window and whether to hash come in the first message. */
const WORKER_SOURCE = `
let writer, reader, unacked = 0, limit = 0, wake, size = 0, hasher;
onmessage = (e) => {
  const m = e.data;
  if (m.type === "start") {
    const ds = new DecompressionStream(m.format);
    writer = ds.writable.getWriter();
    reader = ds.readable.getReader();
    limit = m.window;
    if (m.hash) hasher = new Bun.CryptoHasher("sha256");
    pump();
  } else if (m.type === "in") {
    const n = m.chunk.length;
    writer.write(m.chunk).then(() => postMessage({ type: "took", n }), () => {});
  } else if (m.type === "end") {
    writer.close().catch(() => {});
  } else if (m.type === "ack") {
    unacked -= m.n;
    if (wake && unacked < limit) { const w = wake; wake = undefined; w(); }
  }
};
async function pump() {
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      let c = r.value;
      if (hasher) hasher.update(c);
      size += c.length;
      if (c.byteOffset !== 0 || c.byteLength !== c.buffer.byteLength) c = c.slice();
      unacked += c.length;
      postMessage({ type: "out", chunk: c }, [c.buffer]);
      if (unacked >= limit) await new Promise((res) => { wake = res; });
    }
    postMessage({ type: "done", digest: hasher ? "sha256:" + hasher.digest("hex") : "", size });
  } catch (err) {
    postMessage({ type: "error", message: String(err && err.message || err) });
  }
}
`;

let workerUrl: string | undefined;

type FromWorker = { type: "out"; chunk: Uint8Array } | { type: "took"; n: number } | { type: "done"; digest: string; size: number } | { type: "error"; message: string };

/** The sha256 and length of everything a stream gave. */
export interface StreamSum {
  digest: string;
  size: number;
}

export interface ThreadedStream {
  stream: ReadableStream<Uint8Array>;
  /** The output's sum, once the stream has ended (undefined before). */
  sum(): StreamSum | undefined;
}

/**
 * `source` inflated (gzip or zstd) on a worker thread, with the sum of the
 * inflated bytes once they are all read (the digest is "" with `hash:
 * false`). Errors of `source`
 * come out unchanged; the decompressor's as an `Error` with its message.
 * Returns undefined when no worker can be started (the caller inflates on
 * its own thread).
 */
export function decompressOnThread(source: ReadableStream<Uint8Array>, format: "gzip" | "zstd", opts: { hash?: boolean } = {}): ThreadedStream | undefined {
  let worker: Worker;
  try {
    workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
    worker = new Worker(workerUrl);
  } catch {
    return undefined;
  }
  const input = source.getReader();
  const queue: Uint8Array[] = [];
  let ended: StreamSum | undefined;
  let failure: { err: unknown } | undefined;
  let inFlight = 0;
  let unacked = 0;
  let stopped = false;
  let wakeReader: (() => void) | undefined;
  let wakeWriter: (() => void) | undefined;
  const wake = () => {
    const r = wakeReader;
    wakeReader = undefined;
    r?.();
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    worker.terminate();
    const w = wakeWriter;
    wakeWriter = undefined;
    w?.();
  };
  const fail = (err: unknown) => {
    failure ??= { err };
    stop();
    wake();
  };

  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    const m = e.data;
    if (m.type === "out") queue.push(m.chunk);
    else if (m.type === "took") {
      inFlight -= m.n;
      if (inFlight < IN_WINDOW) {
        const w = wakeWriter;
        wakeWriter = undefined;
        w?.();
      }
      return;
    } else if (m.type === "done") {
      ended = { digest: m.digest, size: m.size };
      stop();
    } else fail(new Error(m.message));
    wake();
  };
  // The thread itself failing is not the data's fault: a CtrError, which decompressLayer passes on as it is.
  worker.onerror = (e) => fail(new CtrError(`the decompression thread failed: ${e.message || "no reason given"}`));
  worker.postMessage({ type: "start", format, window: OUT_WINDOW, hash: opts.hash !== false });

  // Feeds the worker as fast as its window allows.
  void (async () => {
    try {
      for (;;) {
        while (inFlight >= IN_WINDOW && !stopped) await new Promise<void>((res) => (wakeWriter = res));
        if (stopped) return;
        const r = await input.read();
        if (stopped) return;
        if (r.done) {
          worker.postMessage({ type: "end" });
          return;
        }
        inFlight += r.value.length;
        // Transferred, not cloned (cloning costs several times a copy): a chunk that is all of its buffer is
        // handed over as it is (no reader of a blob stream keeps its chunks), else a copy of the piece.
        const whole = r.value.byteOffset === 0 && r.value.byteLength === r.value.buffer.byteLength && r.value.buffer instanceof ArrayBuffer;
        const chunk = whole ? r.value : r.value.slice();
        worker.postMessage({ type: "in", chunk }, [chunk.buffer as ArrayBuffer]);
      }
    } catch (err) {
      // The source's own error (the network): reported as it is.
      fail(err);
    }
  })();

  const stream = new ReadableStream<Uint8Array>({
    pull: async (ctl) => {
      while (queue.length === 0 && !ended && !failure) await new Promise<void>((res) => (wakeReader = res));
      const chunk = queue.shift();
      if (chunk) {
        unacked += chunk.length;
        if (!stopped && (unacked >= ACK_BATCH || queue.length === 0)) {
          worker.postMessage({ type: "ack", n: unacked });
          unacked = 0;
        }
        ctl.enqueue(chunk);
      } else if (failure) ctl.error(failure.err);
      else ctl.close();
    },
    cancel: async (reason) => {
      stop();
      await input.cancel(reason).catch(() => undefined);
    },
  });
  // Only once the reader has had every chunk: a sum must never stand for output not yet read.
  return { stream, sum: () => (ended && queue.length === 0 ? ended : undefined) };
}

import { describe, expect, test } from "bun:test";
import { MediaType } from "../../oci/image.ts";
import { decompressLayerSummed } from "./decompress.ts";
import { decompressOnThread } from "./decompress-thread.ts";

function streamOf(data: Uint8Array, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (at >= data.length) return ctl.close();
      ctl.enqueue(data.slice(at, at + chunk));
      at += chunk;
    },
  });
}

function sha256(data: Uint8Array): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(data).digest("hex")}`;
}

/** Compressible but not trivially so: lines of counters, `n` bytes. */
function sample(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  const enc = new TextEncoder();
  let at = 0;
  for (let i = 0; at < n; i++) {
    const line = enc.encode(`line ${i} ${(i * 2654435761) >>> 0}\n`);
    out.set(line.subarray(0, n - at), at);
    at += line.length;
  }
  return out;
}

async function readAll(stream: ReadableStream<Uint8Array>, slow = false): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of stream) {
    parts.push(c);
    // A consumer slower than the worker: its output window fills and it must wait for acks.
    if (slow && parts.length % 16 === 0) await Bun.sleep(1);
  }
  return Buffer.concat(parts);
}

describe("decompressLayerSummed", () => {
  const tar = sample(3 << 20);

  test("gives the sha256 and size of what it gave, only once the stream has ended, gzip and plain alike", async () => {
    for (const [blob, type] of [
      [Bun.gzipSync(tar), MediaType.ociLayerGzip],
      [tar, MediaType.ociLayer],
    ] as const) {
      const { tar: out, sum } = decompressLayerSummed(streamOf(blob), type, { name: "sha256:x" });
      expect(sum()).toBeUndefined();
      const got = await readAll(out);
      expect(sha256(got)).toBe(sha256(tar));
      expect(sum()).toEqual({ digest: sha256(tar), size: tar.length });
    }
  });
});

describe("decompressOnThread", () => {
  test("inflates more than its windows hold for a slow reader, byte for byte", async () => {
    const data = sample(12 << 20);
    const threaded = decompressOnThread(streamOf(Bun.gzipSync(data)), "gzip");
    expect(threaded).toBeDefined();
    const got = await readAll(threaded!.stream, true);
    expect(got.length).toBe(data.length);
    expect(sha256(got)).toBe(sha256(data));
    expect(threaded!.sum()).toEqual({ digest: sha256(data), size: data.length });
  });

  test("passes the source's own error through unchanged", async () => {
    const netError = new Error("connection reset");
    const gz = Bun.gzipSync(sample(1 << 20));
    let sent = false;
    const failing = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (!sent) {
          sent = true;
          ctl.enqueue(gz.slice(0, 1000));
        } else ctl.error(netError);
      },
    });
    const threaded = decompressOnThread(failing, "gzip")!;
    expect(readAll(threaded.stream)).rejects.toBe(netError);
  });

  test("stops when the reader cancels, and has no sum", async () => {
    const threaded = decompressOnThread(streamOf(Bun.gzipSync(sample(2 << 20))), "gzip")!;
    const reader = threaded.stream.getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel();
    expect(threaded.sum()).toBeUndefined();
  });
});

/**
 * A plain-http proxy in front of the local test registry, in the test's own
 * process: it records every request and can slow blob downloads down, so a
 * test can watch what ctr sends (chunked uploads) or catch a pull in the
 * middle (kills). The registry's Location headers name itself; they are
 * rewritten to the proxy so the client's next request comes back through it.
 */
import { REGISTRY } from "./helpers.ts";

export interface Recorded {
  method: string;
  path: string;
  search: string;
  /** The Location of the answer, as the client saw it. */
  location: string | null;
  contentRange: string | null;
  /** Body bytes of the request. */
  length: number;
  /** The `digest` query parameter. */
  digest: string | null;
}

export interface RegistryProxy {
  /** host:port to use as the registry name. */
  readonly address: string;
  readonly requests: Recorded[];
  stop(): void;
}

/**
 * @param bytesPerSecond when given, blob bodies flow at about this rate
 * @param tamper "layer": in each gzip blob over 4 KiB (the layers), a bit of
 *   the gzip header's MTIME flipped: the data still decompresses to the
 *   same tar, only the blob's digest is wrong; "manifest": a manifest asked for by digest gets a
 *   trailing space, and one asked for by tag keeps the registry's
 *   Docker-Content-Digest but loses its last byte
 */
export function registryProxy(opts: { bytesPerSecond?: number; tamper?: "layer" | "manifest" } = {}): RegistryProxy {
  const requests: Recorded[] = [];
  let self = "";
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const body = req.method === "GET" || req.method === "HEAD" ? undefined : new Uint8Array(await req.arrayBuffer());
      const rec: Recorded = { method: req.method, path: url.pathname, search: url.search, location: null, contentRange: req.headers.get("content-range"), length: body?.length ?? 0, digest: url.searchParams.get("digest") };
      requests.push(rec);
      const headers = new Headers(req.headers);
      headers.delete("host");
      const res = await fetch(`http://${REGISTRY}${url.pathname}${url.search}`, { method: req.method, headers, body, redirect: "manual" });
      const out = new Headers(res.headers);
      const location = out.get("location");
      if (location) out.set("location", (rec.location = location.replace(`http://${REGISTRY}`, `http://${self}`)));
      if (req.method === "HEAD" || !res.body) return new Response(null, { status: res.status, headers: out });
      if (opts.tamper && req.method === "GET" && res.status === 200) {
        const bytes = new Uint8Array(await res.arrayBuffer());
        if (opts.tamper === "layer" && url.pathname.includes("/blobs/") && bytes.length > 4096 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes[4]! ^= 0x01;
        const manifest = url.pathname.includes("/manifests/");
        if (opts.tamper === "manifest" && manifest && url.pathname.includes("/manifests/sha256:")) {
          return new Response(Buffer.concat([bytes, Buffer.from(" ")]), { status: 200, headers: out });
        }
        if (opts.tamper === "manifest" && manifest) return new Response(bytes.subarray(0, -1), { status: 200, headers: out });
        return new Response(bytes, { status: 200, headers: out });
      }
      const rate = opts.bytesPerSecond;
      if (!rate || !url.pathname.includes("/blobs/")) return new Response(await res.arrayBuffer(), { status: res.status, headers: out });
      const upstream = res.body;
      const slow = async function* () {
        const slice = Math.max(1024, Math.floor(rate / 50));
        for await (const chunk of upstream) {
          for (let off = 0; off < chunk.length; off += slice) {
            yield chunk.subarray(off, off + slice);
            await Bun.sleep(20);
          }
        }
      };
      return new Response(slow() as unknown as ReadableStream<Uint8Array>, { status: res.status, headers: out });
    },
  });
  self = `127.0.0.1:${server.port}`;
  return { address: self, requests, stop: () => server.stop(true) };
}

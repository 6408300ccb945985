/**
 * A registry that hangs, stalls or drops the connection: ctr gives up with a
 * timeout error (exit 125, store unchanged), or resumes the blob with `Range`.
 *
 * The misbehaving registries are small TCP servers in this test: one that
 * never answers, and an HTTP/1.1 proxy to the local registry that cuts or
 * stalls blob bodies halfway. `CTR_REGISTRY_TIMEOUT` makes ctr's timeouts short.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import { ctr, ctrOk, newStore, REGISTRY } from "./helpers.ts";

const LAYERED = "ctrtest/layered:latest";
const SHORT_TIMEOUT = { CTR_REGISTRY_TIMEOUT: "0.5" };

const servers: Server[] = [];
const sockets = new Set<Socket>();

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(onSocket: (sock: Socket) => void): Promise<string> {
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => undefined);
    onSocket(sock);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("no port");
  return `127.0.0.1:${addr.port}`;
}

type BlobMode = "pass" | "cut-first" | "stall";

interface ProxyLog {
  /** `GET /v2/... Range: ...` for each blob request. */
  blobRequests: string[];
}

/**
 * A plain-http proxy to the local registry, one request per connection.
 * TLS hellos are dropped (ctr then falls back to http on loopback). Blob
 * bodies are sent whole ("pass"), half then closed on the first request for
 * each digest ("cut-first"), or half then never finished ("stall").
 */
async function proxy(mode: BlobMode): Promise<{ addr: string; log: ProxyLog }> {
  const log: ProxyLog = { blobRequests: [] };
  const cut = new Set<string>();
  const addr = await listen((sock) => {
    let head = Buffer.alloc(0);
    sock.on("data", async (data: Buffer) => {
      head = Buffer.concat([head, data]);
      if (head[0] === 0x16) return void sock.destroy();
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      sock.pause();
      const [requestLine, ...lines] = head.subarray(0, end).toString("latin1").split("\r\n");
      const [method, path] = requestLine!.split(" ") as [string, string];
      const headers: Record<string, string> = { "accept-encoding": "identity" };
      for (const l of lines) {
        const i = l.indexOf(":");
        const name = l.slice(0, i).trim().toLowerCase();
        if (["accept", "range", "authorization"].includes(name)) headers[name] = l.slice(i + 1).trim();
      }
      const upstream = await fetch(`http://${REGISTRY}${path}`, { method, headers, redirect: "manual" });
      const body = Buffer.from(await upstream.arrayBuffer());
      let out = `HTTP/1.1 ${upstream.status} ${upstream.statusText || "X"}\r\n`;
      upstream.headers.forEach((v, k) => {
        if (!["content-length", "transfer-encoding", "connection", "content-encoding"].includes(k)) out += `${k}: ${v}\r\n`;
      });
      out += `content-length: ${method === "HEAD" ? upstream.headers.get("content-length") ?? 0 : body.length}\r\nconnection: close\r\n\r\n`;
      const blob = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path)?.[1];
      if (blob && method === "GET") log.blobRequests.push(`${blob} ${headers.range ?? "whole"}`);
      sock.write(out);
      if (method === "HEAD") return void sock.end();
      const half = body.subarray(0, Math.floor(body.length / 2));
      if (blob && body.length > 1 && mode === "stall") return void sock.write(half);
      if (blob && body.length > 1 && mode === "cut-first" && !cut.has(blob)) {
        cut.add(blob);
        sock.write(half);
        return void sock.end();
      }
      sock.end(body);
    });
  });
  return { addr, log };
}

describe("a registry that does not answer in time", () => {
  test("one that accepts connections and never answers is a timeout error, exit 125, store unchanged", async () => {
    await using store = await newStore();
    const addr = await listen(() => undefined);
    await ctrOk(["pull", "-q", `${REGISTRY}/library/alpine`], { store });
    const before = store.snapshot();
    const r = await ctr(["pull", `${addr}/library/alpine`], { store, env: SHORT_TIMEOUT });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain(`cannot reach registry "${addr}": no answer in 0.5s`);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("Error:"))).toHaveLength(1);
    expect(store.snapshot()).toEqual(before);
  });

  test("one whose blob bodies stall halfway is a timeout error after the resumes, exit 125, store unchanged", async () => {
    await using store = await newStore();
    const { addr, log } = await proxy("stall");
    await ctrOk(["pull", "-q", `${REGISTRY}/library/alpine`], { store });
    const before = store.snapshot();
    const r = await ctr(["pull", "-q", `${addr}/${LAYERED}`], { store, env: SHORT_TIMEOUT });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain(`registry "${addr}" sent no data for 0.5s`);
    expect(store.snapshot()).toEqual(before);
    // The stalled blob was asked for again from where it stopped, then given up.
    expect(log.blobRequests.some((l) => / bytes=\d+-$/.test(l))).toBe(true);
  });

  test("an invalid CTR_REGISTRY_TIMEOUT is refused with exit 125", async () => {
    await using store = await newStore();
    const r = await ctr(["pull", `${REGISTRY}/library/alpine`], { store, env: { CTR_REGISTRY_TIMEOUT: "soon" } });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('invalid CTR_REGISTRY_TIMEOUT "soon"');
  });
});

describe("a blob download cut short", () => {
  test("is resumed with Range from the byte it stopped at, and the image is whole", async () => {
    await using store = await newStore();
    await using reference = await newStore();
    const { addr, log } = await proxy("cut-first");
    await ctrOk(["pull", "-q", `${addr}/${LAYERED}`], { store });
    const resumed = log.blobRequests.filter((l) => / bytes=\d+-$/.test(l));
    expect(resumed.length).toBeGreaterThan(0);
    for (const l of resumed) expect(Number(/bytes=(\d+)-/.exec(l)![1])).toBeGreaterThan(0);
    // Same image as pulled straight from the registry, and its files are there.
    await ctrOk(["pull", "-q", `${REGISTRY}/${LAYERED}`], { store: reference });
    const direct = await ctrOk(["image", "inspect", "-f", "{{.Id}} {{.RootFS.Layers}}", `${REGISTRY}/${LAYERED}`], { store: reference });
    const viaProxy = await ctrOk(["image", "inspect", "-f", "{{.Id}} {{.RootFS.Layers}}", `${addr}/${LAYERED}`], { store });
    expect(viaProxy.stdout).toBe(direct.stdout);
    const run = await ctr(["run", "--rm", `${addr}/${LAYERED}`, "cat", "/opt/data/c.txt"], { store });
    expect(run).toMatchObject({ code: 0, stdout: "c\n" });
  });
});

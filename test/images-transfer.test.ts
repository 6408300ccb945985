/**
 * How blobs travel: chunked PATCH uploads for big blobs (watched through a
 * recording proxy in front of the real registry), per-layer progress on a
 * terminal (a real pty), bytes that do not match their digest (the proxy
 * tampers with them), and the seeded zstd, manifest-list and owners images
 * pulled and run.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { constants } from "node:os";
import { CTR_BIN, ctr, ctrOk, newStore, REGISTRY, type TestStore } from "./helpers.ts";
import { registryProxy } from "./registry-proxy.ts";

const BIG = `${REGISTRY}/ctrtest/big:latest`;
const MANIFEST_ACCEPT = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json";

const scratchRepos: string[] = [];
function scratchRepo(): string {
  const repo = `ctrtest/transfer-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  scratchRepos.push(repo);
  return repo;
}

afterAll(async () => {
  for (const repo of scratchRepos) {
    const head = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/latest`, { method: "HEAD", headers: { Accept: MANIFEST_ACCEPT } });
    const digest = head.headers.get("docker-content-digest");
    if (digest) await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${digest}`, { method: "DELETE" });
  }
});

/** The layer sizes of a manifest in the registry. */
async function layerSizes(repo: string): Promise<{ digest: string; size: number }[]> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/latest`, { headers: { Accept: MANIFEST_ACCEPT } });
  return ((await res.json()) as { layers: { digest: string; size: number }[] }).layers;
}

/**
 * Runs ctr with stdout and stderr on a pseudo-terminal; returns what the
 * terminal showed and the exit status.
 */
async function ctrOnTerminal(args: string[], store: TestStore, env: Record<string, string> = {}): Promise<{ code: number; screen: string }> {
  const chunks: Uint8Array[] = [];
  let closed!: () => void;
  const eof = new Promise<void>((r) => (closed = r));
  const terminal = new Bun.Terminal({ cols: 100, rows: 40, data: (_t, d) => chunks.push(d), exit: () => closed() });
  try {
    const p = Bun.spawn([CTR_BIN, ...args], { env: { ...process.env, ...store.env, ...env }, terminal });
    const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
    const code = await p.exited;
    clearTimeout(timer);
    // The pty's last bytes may still be in flight after the exit.
    await Promise.race([eof, Bun.sleep(2000)]);
    return { code: p.signalCode ? 128 + ((constants.signals as Record<string, number>)[p.signalCode] ?? 0) : code, screen: Buffer.concat(chunks).toString() };
  } finally {
    terminal.close();
  }
}

/** The lines a terminal ends up showing for output drawn with \r, ESC[nA and ESC[2K. */
function plainLines(screen: string): string[] {
  return screen
    .replace(/\x1b\[\d*[AJK]/g, "")
    .split(/\r?\n/)
    .map((l) => l.split("\r").filter((s) => s !== "").at(-1) ?? "")
    .filter((l) => l.trim() !== "");
}

describe("chunked push", () => {
  test("a blob above CTR_PUSH_CHUNK_SIZE goes up in PATCH chunks with Content-Range; the image pulls into an empty store and runs", async () => {
    await using src = await newStore();
    await using dst = await newStore();
    await ctrOk(["pull", "-q", `${REGISTRY}/library/busybox:latest`], { store: src });
    const [layer] = await layerSizes("library/busybox");
    const chunk = 256 * 1024;
    expect(layer!.size).toBeGreaterThan(2 * chunk);
    const proxy = registryProxy();
    const repo = scratchRepo();
    try {
      await ctrOk(["push", `${REGISTRY}/library/busybox:latest`, `${proxy.address}/${repo}:latest`], { store: src, env: { CTR_PUSH_CHUNK_SIZE: String(chunk) } });
    } finally {
      proxy.stop();
    }
    const patches = proxy.requests.filter((r) => r.method === "PATCH");
    const expected = Math.ceil(layer!.size / chunk);
    expect(patches).toHaveLength(expected);
    expect(patches.map((p) => p.contentRange)).toEqual(Array.from({ length: expected }, (_, i) => `${i * chunk}-${Math.min(layer!.size, (i + 1) * chunk) - 1}`));
    expect(patches.reduce((n, p) => n + p.length, 0)).toBe(layer!.size);
    // Each request went to the Location the previous answer gave (distribution changes its _state token every time).
    const upload = proxy.requests.slice(proxy.requests.indexOf(patches[0]!) - 1);
    const close = proxy.requests.filter((r) => r.method === "PUT" && r.digest === layer!.digest);
    expect(close).toHaveLength(1);
    for (let i = 1; i <= expected; i++) {
      const asked = new URL(upload[i - 1]!.location!);
      expect(`${upload[i]!.path}${upload[i]!.search}`).toBe(`${asked.pathname}${asked.search}`);
    }
    expect(new URL(upload[expected]!.location!).pathname).toBe(close[0]!.path);
    expect(close[0]!.length).toBe(0);
    // The config is below the threshold: one monolithic PUT with its bytes.
    expect(proxy.requests.filter((r) => r.method === "PUT" && r.digest && r.digest !== layer!.digest && r.length > 0)).toHaveLength(1);

    await ctrOk(["pull", "-q", `${REGISTRY}/${repo}:latest`], { store: dst });
    const run = await ctr(["run", "--rm", `${REGISTRY}/${repo}:latest`, "echo", "chunked"], { store: dst });
    expect(run).toMatchObject({ code: 0, stdout: "chunked\n" });
  }, 90_000);

  test("an invalid CTR_PUSH_CHUNK_SIZE is a clear error, exit 125", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", `${REGISTRY}/library/busybox:latest`], { store });
    const r = await ctr(["push", `${REGISTRY}/library/busybox:latest`, `${REGISTRY}/${scratchRepo()}:latest`], { store, env: { CTR_PUSH_CHUNK_SIZE: "lots" } });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('invalid CTR_PUSH_CHUNK_SIZE "lots"');
  }, 90_000);
});

describe("progress on a terminal", () => {
  test("pull draws a line per layer with byte counts and ends with the image id", async () => {
    await using store = await newStore();
    const { code, screen } = await ctrOnTerminal(["pull", BIG], store);
    expect(code).toBe(0);
    expect(screen).toContain("\x1b[");
    const lines = plainLines(screen);
    const layers = await layerSizes("ctrtest/big");
    for (const l of layers) {
      const mine = lines.filter((x) => x.startsWith(`Copying blob ${l.digest.slice(0, 19)}…`));
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.at(-1)).toMatch(/ \d+\.\dMiB \/ \d+\.\dMiB done$|KiB done$/);
    }
    expect(lines.some((x) => / 12\.0MiB done$/.test(x))).toBe(true);
    const id = (await ctrOk(["images", "-q", "--no-trunc", BIG], { store })).stdout.trim().replace(/^sha256:/, "");
    expect(lines.at(-1)).toBe(id);
  }, 90_000);

  test("pull -q on a terminal prints only the image id", async () => {
    await using store = await newStore();
    const { code, screen } = await ctrOnTerminal(["pull", "-q", `${REGISTRY}/library/busybox:latest`], store);
    expect(code).toBe(0);
    expect(plainLines(screen)).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
    expect(screen).not.toContain("Copying");
  }, 90_000);

  test("pull through a pipe prints the plain lines, without terminal control codes", async () => {
    await using store = await newStore();
    const r = await ctrOk(["pull", BIG], { store });
    expect(r.stderr).not.toContain("\x1b");
    expect(r.stderr.match(/^Copying blob [0-9a-f]{12}$/gm)).toHaveLength(3);
  }, 90_000);

  test("push draws a line per blob, chunked uploads included", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", BIG], { store });
    // Through the proxy, another registry name: nothing can be mounted, every blob is uploaded.
    const proxy = registryProxy();
    let result: { code: number; screen: string };
    try {
      result = await ctrOnTerminal(["push", BIG, `${proxy.address}/${scratchRepo()}:latest`], store, { CTR_PUSH_CHUNK_SIZE: String(4 * 1024 * 1024) });
    } finally {
      proxy.stop();
    }
    expect(result.code).toBe(0);
    const layers = await layerSizes("ctrtest/big");
    const chunk = 4 * 1024 * 1024;
    const chunks = layers.filter((l) => l.size > chunk).reduce((n, l) => n + Math.ceil(l.size / chunk), 0);
    expect(chunks).toBeGreaterThanOrEqual(6);
    expect(proxy.requests.filter((r) => r.method === "PATCH")).toHaveLength(chunks);
    const lines = plainLines(result.screen);
    for (const l of layers) expect(lines).toContain(`Copying blob ${l.digest.slice(0, 19)}… ${l.size > 1024 * 1024 ? "12.0MiB / 12.0MiB" : `${(l.size / 1024).toFixed(1)}KiB / ${(l.size / 1024).toFixed(1)}KiB`} done`);
    expect(lines.filter((l) => l.startsWith("Copying config sha256:"))).not.toEqual([]);
    expect(lines.at(-1)).toBe("Writing manifest to image destination");
  }, 90_000);
});

describe("a registry that serves other bytes than the digest names", () => {
  async function refused(ref: string, tamper: "layer" | "manifest", message: string): Promise<void> {
    await using store = await newStore();
    await ctrOk(["pull", "-q", `${REGISTRY}/library/alpine`], { store });
    const before = store.snapshot();
    const proxy = registryProxy({ tamper });
    try {
      const r = await ctr(["pull", `${proxy.address}/${ref}`], { store });
      expect(r.code).toBe(125);
      const errors = r.stderr.split("\n").filter((l) => l.startsWith("Error:"));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(message);
    } finally {
      proxy.stop();
    }
    expect(store.snapshot()).toEqual(before);
  }

  test("a layer blob with one byte flipped is refused, exit 125, store unchanged", async () => {
    await refused("ctrtest/big:latest", "layer", "does not match its digest");
  }, 90_000);

  test("a manifest asked for by digest whose bytes hash otherwise is refused, store unchanged", async () => {
    const head = await fetch(`http://${REGISTRY}/v2/library/busybox/manifests/latest`, { method: "HEAD", headers: { Accept: MANIFEST_ACCEPT } });
    const digest = head.headers.get("docker-content-digest")!;
    await refused(`library/busybox@${digest}`, "manifest", `does not match its digest`);
  }, 90_000);

  test("a manifest by tag that does not match the registry's Docker-Content-Digest is refused, store unchanged", async () => {
    await refused("library/busybox:latest", "manifest", "does not match the digest the registry declared");
  }, 90_000);
});

describe("seeded image kinds", () => {
  test("an image with zstd layers pulls and runs", async () => {
    await using store = await newStore();
    const r = await ctr(["run", "--rm", `${REGISTRY}/ctrtest/zstd:latest`], { store });
    expect(r).toMatchObject({ code: 0, stdout: "unpacked from a zstd layer\n" });
  }, 90_000);

  test("a Docker manifest list gives the host's image, and --platform picks the other entry by variant", async () => {
    await using store = await newStore();
    const ref = `${REGISTRY}/library/busybox:manifest-list`;
    await ctrOk(["pull", "-q", ref], { store });
    const run = await ctr(["run", "--rm", ref, "echo", "from a list"], { store });
    expect(run).toMatchObject({ code: 0, stdout: "from a list\n" });
    const host = process.arch === "x64" ? "amd64" : process.arch;
    const other = host === "amd64" ? { platform: "linux/arm64/v8", arch: "arm64" } : { platform: "linux/amd64", arch: "amd64" };
    await using elsewhere = await newStore();
    await ctrOk(["pull", "-q", "--platform", other.platform, ref], { store: elsewhere });
    const arch = await ctrOk(["image", "inspect", "-f", "{{.Architecture}}", ref], { store: elsewhere });
    expect(arch.stdout.trim()).toBe(other.arch);
  }, 90_000);

  test("owners above 2^21 and special modes are exact inside a container", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", `${REGISTRY}/ctrtest/owners:latest`], { store });
    const r = await ctr(
      ["run", "--rm", `${REGISTRY}/ctrtest/owners:latest`, "stat", "-c", "%u:%g %a %F %n",
        "/opt/owners/big-uid", "/opt/owners/app/suid", "/opt/owners/setgid", "/opt/owners/sticky-dir", "/opt/owners/sticky-file", "/opt/owners/becomes"],
      { store },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n").filter(Boolean)).toEqual([
      "3000000:3000000 644 regular file /opt/owners/big-uid",
      "1000:1000 4755 regular file /opt/owners/app/suid",
      "0:1000 2755 regular file /opt/owners/setgid",
      "0:0 1777 directory /opt/owners/sticky-dir",
      "0:0 1644 regular file /opt/owners/sticky-file",
      "1000:1000 755 directory /opt/owners/becomes",
    ]);
  }, 90_000);
});

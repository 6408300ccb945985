/**
 * The store under concurrent and interrupted pulls: two pulls of one image
 * at once, a pull beside an rmi of the same image, and pulls SIGKILLed at
 * several points. Each must leave a consistent store (every blob true to
 * its digest, every layer committed whole, every image's content present),
 * no visible half image, nothing outside the store's temporary areas, and a
 * next pull that completes.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CTR_BIN, ctr, ctrOk, newStore, REGISTRY, type TestStore } from "./helpers.ts";
import { registryProxy } from "./registry-proxy.ts";

const BUSYBOX = `${REGISTRY}/library/busybox:latest`;
/** busybox plus two layers of 12 MiB each (scripts/seed-images.ts): a pull that takes a while. */
const BIG = `${REGISTRY}/ctrtest/big:latest`;
const BIG_LAYER_BYTES = 12 * 1024 * 1024;

/** Where a writer may leave partial content for the next writer to sweep. */
const TEMP_AREAS = ["storage/blobs/ingest/", "storage/layers/incoming/", "storage/leases/", "storage/image-holds/"];

function storage(store: TestStore, ...parts: string[]): string {
  return join(store.dataDir, "storage", ...parts);
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Paths that are neither committed content nor in a temporary area: what a
 * killed pull must not leave. Committed layers are not descended into.
 */
function junk(store: TestStore): string[] {
  return store.snapshot().filter((p) => {
    // Containers (a run's) are not the image store's business.
    if (!p.startsWith("storage/") && !p.startsWith("shim/")) return false;
    if (TEMP_AREAS.some((t) => p.startsWith(t))) return false;
    if (/^storage\/layers\/[a-f0-9]{64}\/./.test(p)) return false;
    return !(
      /^(shim|storage|storage\/blobs|storage\/blobs\/sha256|storage\/layers|storage\/layers\/[a-f0-9]{64})\/$/.test(p) ||
      TEMP_AREAS.includes(p) ||
      /^shim\/ctr-shim-[0-9a-f]+$/.test(p) ||
      /^storage\/blobs\/sha256\/[a-f0-9]{64}$/.test(p) ||
      /^storage\/(images\.json|[a-z]+\.lock)$/.test(p)
    );
  });
}

interface StoredImage {
  id: string;
  manifestDigest: string;
  layers: string[];
}

/**
 * Every blob hashes to its name, every layer directory is a committed one
 * (with its layer.json), and every image's config, manifest and layers are
 * there.
 */
function expectConsistent(store: TestStore): void {
  for (const hex of list(storage(store, "blobs", "sha256"))) {
    expect(hex).toMatch(/^[a-f0-9]{64}$/);
    const got = new Bun.CryptoHasher("sha256").update(readFileSync(storage(store, "blobs", "sha256", hex))).digest("hex");
    expect(got).toBe(hex);
  }
  for (const d of list(storage(store, "layers")).filter((d) => d !== "incoming")) {
    expect(d).toMatch(/^[a-f0-9]{64}$/);
    expect(existsSync(storage(store, "layers", d, "layer.json"))).toBe(true);
  }
  const index = existsSync(storage(store, "images.json")) ? (JSON.parse(readFileSync(storage(store, "images.json"), "utf8")) as { images: StoredImage[] }) : { images: [] };
  for (const img of index.images) {
    for (const d of [img.id, img.manifestDigest]) expect(existsSync(storage(store, "blobs", "sha256", d.slice(7)))).toBe(true);
    for (const l of img.layers) expect(existsSync(storage(store, "layers", l.slice(7), "layer.json"))).toBe(true);
  }
}

/** No temporary leftovers: after a completed pull, the temp areas are empty. */
function expectNoTemporaries(store: TestStore): void {
  expect(list(storage(store, "blobs", "ingest"))).toEqual([]);
  expect(list(storage(store, "layers", "incoming"))).toEqual([]);
  expect(list(storage(store, "leases"))).toEqual([]);
}

async function imageNames(store: TestStore): Promise<string[]> {
  return (await ctrOk(["images", "--format", "{{.Repository}}:{{.Tag}}"], { store })).stdout.split("\n").filter(Boolean).sort();
}

async function expectBigRuns(store: TestStore, ref = BIG): Promise<void> {
  const r = await ctr(["run", "--rm", ref, "sh", "-c", "wc -c < /data/random-1; wc -c < /data/random-2"], { store });
  expect(r).toMatchObject({ code: 0, stdout: `${BIG_LAYER_BYTES}\n${BIG_LAYER_BYTES}\n` });
}

/**
 * Waits until no process works in the store any more: a killed ctr's
 * unpack helper (in its own user namespace) notices the closed pipe and
 * exits on its own, a moment later.
 */
async function waitForHelpers(store: TestStore): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const busy = list("/proc").filter((pid) => {
      if (!/^\d+$/.test(pid)) return false;
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(store.root);
      } catch {
        return false;
      }
    });
    if (busy.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes still working in ${store.root}: ${busy.join(", ")}`);
    await Bun.sleep(50);
  }
}

/** Starts `ctr pull ref` and SIGKILLs it once `when` resolves; fails if the pull ended first. */
async function killedPull(store: TestStore, ref: string, when: (proc: { exited: Promise<number> }) => Promise<void>): Promise<void> {
  const p = Bun.spawn([CTR_BIN, "pull", ref], { env: { ...process.env, ...store.env }, stdout: "ignore", stderr: "ignore" });
  let ended = false;
  void p.exited.then(() => (ended = true));
  await when(p);
  expect(ended).toBe(false);
  p.kill("SIGKILL");
  await p.exited;
  expect(p.signalCode).toBe("SIGKILL");
  await waitForHelpers(store);
}

/** Resolves once a layer blob is partly downloaded (over 1 MiB in the ingest area). */
async function midLayer(proc: { exited: Promise<number> }, store: TestStore): Promise<void> {
  let exited = false;
  void proc.exited.then(() => (exited = true));
  while (!exited) {
    const dir = storage(store, "blobs", "ingest");
    for (const f of list(dir)) {
      try {
        if (statSync(join(dir, f)).size > 1024 * 1024) return;
      } catch {
        // committed or removed meanwhile
      }
    }
    await Bun.sleep(5);
  }
}

describe("concurrent pulls", () => {
  test("two pulls of the same image at once both succeed and leave one consistent image", async () => {
    await using store = await newStore();
    // Slowed down, so the two downloads overlap for seconds rather than by luck.
    const proxy = registryProxy({ bytesPerSecond: 16 * 1024 * 1024 });
    const big = `${proxy.address}/ctrtest/big:latest`;
    let a, b;
    try {
      [a, b] = await Promise.all([ctr(["pull", "-q", big], { store, timeoutMs: 120_000 }), ctr(["pull", "-q", big], { store, timeoutMs: 120_000 })]);
    } finally {
      proxy.stop();
    }
    expect(a).toMatchObject({ code: 0 });
    expect(b).toMatchObject({ code: 0 });
    expect(a.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(b.stdout).toBe(a.stdout);
    expect(await imageNames(store)).toEqual([big]);
    expectConsistent(store);
    expectNoTemporaries(store);
    expect(junk(store)).toEqual([]);
    await expectBigRuns(store, big);
  }, 90_000);

  for (const delayMs of [0, 100, 300]) {
    test(`pull beside rmi of the same image (rmi ${delayMs} ms later) ends with the image whole or gone`, async () => {
      await using store = await newStore();
      await ctrOk(["pull", "-q", BIG], { store });
      const [pull, rmi] = await Promise.all([
        ctr(["pull", "-q", BIG], { store, timeoutMs: 120_000 }),
        Bun.sleep(delayMs).then(() => ctr(["rmi", BIG], { store, timeoutMs: 120_000 })),
      ]);
      expect(pull.code).toBe(0);
      expect(rmi.code).toBe(0);
      expectConsistent(store);
      const names = await imageNames(store);
      // Either order is fine; half of each is not.
      expect([[], [BIG]]).toContainEqual(names);
      if (names.length === 0) await ctrOk(["pull", "-q", BIG], { store });
      await expectBigRuns(store);
      expectConsistent(store);
      expect(junk(store)).toEqual([]);
    }, 90_000);
  }
});

describe("a killed pull", () => {
  const points: [string, (p: { exited: Promise<number> }, store: TestStore) => Promise<void>][] = [
    ["after 50 ms", () => Bun.sleep(50)],
    ["after 200 ms", () => Bun.sleep(200)],
    ["in the middle of a layer", midLayer],
  ];
  for (const [name, when] of points) {
    test(`killed ${name}: no visible image, nothing outside the temporary areas, and the next pull completes`, async () => {
      await using store = await newStore();
      // busybox first: the base layer and the shim are in place, the kill lands in the big layers.
      await ctrOk(["pull", "-q", BUSYBOX], { store });
      // Through a proxy that lets the blobs through at 8 MiB/s: the pull takes seconds, so each kill lands inside it.
      const proxy = registryProxy({ bytesPerSecond: 8 * 1024 * 1024 });
      const big = `${proxy.address}/ctrtest/big:latest`;
      try {
        await killedPull(store, big, (p) => when(p, store));
        expect(await imageNames(store)).toEqual([BUSYBOX]);
        expect(junk(store)).toEqual([]);
        expectConsistent(store);

        const again = await ctr(["pull", "-q", big], { store, timeoutMs: 120_000 });
        expect(again.code).toBe(0);
      } finally {
        proxy.stop();
      }
      expect(await imageNames(store)).toEqual([big, BUSYBOX].sort());
      expectConsistent(store);
      expectNoTemporaries(store);
      expect(junk(store)).toEqual([]);
      await expectBigRuns(store, big);
    }, 90_000);
  }
});

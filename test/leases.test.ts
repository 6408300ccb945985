/**
 * A container being created holds its image from resolution until its
 * record is written: `rmi`, `image prune` and `system prune -a` at the same
 * instant leave its layers alone. End to end as the unprivileged user; the
 * hold is the store's documented file (`storage/image-holds/<pid>-<tag>`),
 * written by the test where it needs one held for certain.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ctr, ctrOk, newStore, type TestStore } from "./helpers.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function freshStore(): Promise<TestStore> {
  const s = await newStore();
  cleanups.push(async () => {
    await ctr(["rm", "-a", "-f", "-t", "0"], { store: s, timeoutMs: 120_000 });
    await s.cleanup();
  });
  return s;
}

const storage = (s: TestStore) => join(s.dataDir, "storage");
const layerDir = (s: TestStore, d: string) => join(storage(s), "layers", d.replace(/^sha256:/, ""));

interface StoreImage {
  id: string;
  names: string[];
  layers: string[];
}
const images = (s: TestStore): StoreImage[] => JSON.parse(readFileSync(join(storage(s), "images.json"), "utf8")).images;

describe("image holds", () => {
  test("an image a container is being created from is in use for rmi and prune; rmi -f keeps its layers", async () => {
    const store = await freshStore();
    await ctrOk(["pull", "-q", "alpine"], { store });
    const img = images(store)[0]!;
    // What create writes between resolving the image and writing the record; this process is its holder.
    const holds = join(storage(store), "image-holds");
    mkdirSync(holds, { recursive: true });
    const hold = join(holds, `${process.pid}-test`);
    writeFileSync(hold, JSON.stringify({ imageId: img.id, layers: img.layers }));

    const rmi = await ctr(["rmi", "alpine"], { store });
    expect(rmi.code).toBe(2);
    expect(rmi.stderr).toContain("image is in use by a container");
    await ctrOk(["image", "prune", "-a", "-f"], { store });
    await ctrOk(["system", "prune", "-a", "-f"], { store });
    expect(images(store).map((i) => i.id)).toEqual([img.id]);

    // Forced: the name goes, the layers stay for the container being made.
    const forced = await ctrOk(["rmi", "-f", "alpine"], { store });
    expect(forced.stdout).toContain(`Deleted: ${img.id.slice(7)}`);
    expect(images(store)).toEqual([]);
    for (const l of img.layers) expect(existsSync(join(layerDir(store, l), "diff", "bin"))).toBe(true);
    await ctrOk(["image", "prune", "-a", "-f"], { store });
    for (const l of img.layers) expect(existsSync(layerDir(store, l))).toBe(true);

    // The hold ended without a container: the next collection takes them.
    rmSync(hold);
    await ctrOk(["image", "prune", "-a", "-f"], { store });
    for (const l of img.layers) expect(existsSync(layerDir(store, l))).toBe(false);
    expect((await ctrOk(["system", "check"], { store })).stdout).toBe("");
  });

  test("a hold whose process is gone does not keep the image", async () => {
    const store = await freshStore();
    await ctrOk(["pull", "-q", "alpine"], { store });
    const img = images(store)[0]!;
    mkdirSync(join(storage(store), "image-holds"), { recursive: true });
    // Above the kernel's largest pid: no such process.
    writeFileSync(join(storage(store), "image-holds", "4194305-dead"), JSON.stringify({ imageId: img.id, layers: img.layers }));
    expect((await ctrOk(["rmi", "alpine"], { store })).stdout).toContain(`Deleted: ${img.id.slice(7)}`);
    for (const l of img.layers) expect(existsSync(layerDir(store, l))).toBe(false);
  });

  test("run -d in a loop beside rmi -f and image prune -a: every container created runs on its layers", async () => {
    const store = await freshStore();
    await ctrOk(["pull", "-q", "alpine"], { store });
    let running = true;
    const created: string[] = [];
    const runs = (async () => {
      try {
        for (let i = 0; i < 12; i++) {
          // pull=missing: an image removed meanwhile is pulled again.
          const r = await ctr(["run", "-d", "alpine", "sleep", "600"], { store, timeoutMs: 120_000 });
          if (r.code === 0) created.push(r.stdout.trim());
          else {
            // Only a container that rmi -f removed while it started may fail, never for want of its layers.
            expect(r.stderr).toMatch(/^Error: /m);
            expect(r.stderr).not.toMatch(/layers|lower dir|image .* was removed/);
          }
        }
      } finally {
        running = false;
      }
    })();
    let removals = 0;
    const removers = (async () => {
      while (running) {
        // `system prune` is left out: it removes a container created but not yet started (podman's does too).
        // rmi -f also removes the image's containers (podman's rule): twice only, so that some are left to check.
        const verb = removals === 3 || removals === 12 ? ["rmi", "-f", "alpine"] : ["image", "prune", "-a", "-f"];
        const r = await ctr(verb, { store, timeoutMs: 120_000 });
        // rmi -f of an image already gone: 1; anything else must succeed.
        expect(r.code === 0 || (verb[0] === "rmi" && r.code === 1)).toBe(true);
        removals++;
      }
    })();
    await Promise.all([runs, removers]);
    expect(removals).toBeGreaterThan(0);
    expect(created.length).toBeGreaterThan(0);

    // rmi -f removes the containers of the image it removes (podman's rule); each one left runs.
    const left = (await ctrOk(["ps", "-a", "-q", "--no-trunc"], { store })).stdout.split("\n").filter(Boolean);
    for (const id of left) {
      expect(created).toContain(id);
      expect((await ctrOk(["inspect", "-f", "{{.State.Running}}", id], { store })).stdout.trim()).toBe("true");
      expect((await ctrOk(["exec", id, "cat", "/etc/passwd"], { store })).stdout).toStartWith("root:x:0:0:");
    }
    const check = await ctr(["system", "check"], { store, timeoutMs: 120_000 });
    expect(check.stdout + check.stderr).toBe("");
    expect(check.code).toBe(0);
  }, 600_000);
});

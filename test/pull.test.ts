/** `ctr pull` against the real local registry: names, indexes, and the unpacked tree. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ctr, newStore, REGISTRY, type TestStore } from "./helpers.ts";

let store: TestStore;

beforeAll(async () => {
  store = await newStore();
});

afterAll(async () => {
  await store.cleanup();
});

function walk(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = prefix + e.name;
    return e.isDirectory() ? [rel + "/", ...walk(join(dir, e.name), rel + "/")] : [rel];
  });
}

describe("ctr pull", () => {
  test("a short name resolves through registries.conf and lands in images", async () => {
    const r = await ctr(["pull", "alpine"], { store });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stderr).toContain("Trying to pull docker.io/library/alpine:latest");
    const images = await ctr(["images"], { store });
    expect(images.stdout).toMatch(/^docker\.io\/library\/alpine\s+latest\s+[0-9a-f]{12}\s/m);
  });

  test("the unpacked layer holds exactly the entries of the layer tar", async () => {
    const storage = join(store.dataDir, "storage");
    const index = JSON.parse(readFileSync(join(storage, "images.json"), "utf8"));
    const image = index.images.find((i: { names: string[] }) => i.names.includes("docker.io/library/alpine:latest"));
    const manifest = JSON.parse(readFileSync(join(storage, "blobs", "sha256", image.manifestDigest.slice(7)), "utf8"));
    for (const [i, layer] of manifest.layers.entries()) {
      const blob = join(storage, "blobs", "sha256", layer.digest.slice(7));
      const listed = (await Bun.$`tar -tzf ${blob}`.text())
        .split("\n")
        .filter(Boolean)
        .map((p) => p.replace(/^\.\//, ""))
        .filter((p) => p !== "" && p !== "./")
        .sort();
      const unpacked = walk(join(storage, "layers", image.layers[i].slice(7), "diff")).sort();
      expect(unpacked).toEqual(listed);
    }
  });

  test("pulling the same image again downloads nothing new", async () => {
    const before = store.snapshot();
    const r = await ctr(["pull", "-q", "docker.io/library/alpine:latest"], { store });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(store.snapshot()).toEqual(before);
  });

  test("an OCI index resolves to the host platform's manifest", async () => {
    const r = await ctr(["pull", `${REGISTRY}/library/busybox:oci-index`], { store });
    expect(r.code).toBe(0);
    const run = await ctr(["run", "--rm", `${REGISTRY}/library/busybox:oci-index`, "echo", "from-index"], { store });
    expect(run.stdout).toBe("from-index\n");
  });

  test("a platform the index lacks is a clear error", async () => {
    const r = await ctr(["pull", "--platform", "linux/s390x", `${REGISTRY}/library/busybox:oci-index`], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("no image for platform linux/s390x");
  });

  test("a missing tag names the registry it was looked for in", async () => {
    const r = await ctr(["pull", `${REGISTRY}/library/alpine:no-such-tag`], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain(`${REGISTRY}/library/alpine`);
    expect(r.stderr).toContain("not found");
  });
});

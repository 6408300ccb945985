import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Leases } from "./leases.ts";

function withLeases(fn: (leases: Leases) => Promise<void>): () => Promise<void> {
  return async () => {
    const root = mkdtempSync(join(tmpdir(), "ctr-leases-"));
    try {
      await fn(new Leases(root));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

test(
  "Leases.hold: held() lists the image and its layers until release, without blocking the collector",
  withLeases(async (leases) => {
    const hold = await leases.hold("sha256:img", ["sha256:l1", "sha256:l2"], () => true);
    expect(hold).toBeDefined();
    const held = leases.held();
    expect([...held.images]).toEqual(["sha256:img"]);
    expect([...held.layers].sort()).toEqual(["sha256:l1", "sha256:l2"]);
    // A hold is not a writer's lease: gc still runs, keeping what is held.
    expect(leases.anyLive()).toBe(false);
    hold!.release();
    expect(leases.held().images.size).toBe(0);
  }),
);

test(
  "Leases.hold: an image gone by the time the lock is taken is not held",
  withLeases(async (leases) => {
    expect(await leases.hold("sha256:img", ["sha256:l1"], () => false)).toBeUndefined();
    expect(leases.held().layers.size).toBe(0);
  }),
);

test(
  "Leases.held: a hold whose process is gone does not count and is removed",
  withLeases(async (leases) => {
    const dir = join(leases.root, "image-holds");
    mkdirSync(dir, { recursive: true });
    // Above the kernel's largest pid: no such process.
    writeFileSync(join(dir, "4194305-dead"), JSON.stringify({ imageId: "sha256:img", layers: ["sha256:l1"] }));
    expect(leases.held().images.size).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  }),
);

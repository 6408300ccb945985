import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ContainerRecord } from "../runtime/container-store.ts";
import { pruneVolumes, removeVolume } from "./remove.ts";
import { VolumeStore } from "./store.ts";

function withStore(fn: (store: VolumeStore) => Promise<void>): () => Promise<void> {
  return async () => {
    const root = mkdtempSync(join(tmpdir(), "ctr-vol-"));
    try {
      await fn(new VolumeStore(root));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

const none = () => [] as ContainerRecord[];

test(
  "a volume taken by a container being created is not pruned or removed until its lease ends",
  withStore(async (store) => {
    const lease = store.lease();
    await store.create("data", {}, true, lease);
    await store.create("free", {});
    expect(await pruneVolumes(store, none)).toEqual(["free"]);
    await expect(removeVolume(store, "data", none)).rejects.toThrow("volume data is being used by a container being created");
    lease.release();
    expect(await pruneVolumes(store, none)).toEqual(["data"]);
  }),
);

test(
  "a lease whose process is gone does not count",
  withStore(async (store) => {
    await store.create("orphaned", {});
    mkdirSync(join(store.root, "volume-leases"), { recursive: true });
    // pid 2^22+1 is above any pid_max default: no such process.
    writeFileSync(join(store.root, "volume-leases", "4194305-dead"), "orphaned\n");
    expect(store.leasedNames().size).toBe(0);
    expect(await pruneVolumes(store, none)).toEqual(["orphaned"]);
  }),
);

test(
  "prune reads the containers under the lock and spares the volumes they mount",
  withStore(async (store) => {
    await store.create("mounted", {});
    const user = { id: "c1", mounts: [{ Type: "volume", Name: "mounted", Source: "", Destination: "/d", RW: true }] } as unknown as ContainerRecord;
    let reads = 0;
    expect(await pruneVolumes(store, () => (reads++, [user]))).toEqual([]);
    expect(reads).toBe(1);
  }),
);

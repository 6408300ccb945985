/**
 * Leases keep garbage collection away from content that is being written.
 *
 * A pull or load commits blobs and layers one by one and names the image
 * last, so for a while the store holds content no image refers to yet. Each
 * such writer holds a lease (`leases/<pid>-<random>`) for its whole run; the
 * collector removes nothing while a live lease exists. Taking a lease and
 * collecting both happen under `gc.lock`, so a writer either sees the
 * collection finished or the collector sees the lease, never half of each.
 * A lease whose process is gone (killed) no longer counts.
 *
 * A container being created holds a narrower lease on one image instead
 * (`image-holds/<pid>-<random>`: the image ID and its layers) from the moment
 * the image is resolved until the container's record is written; from then
 * on the record itself keeps the layers. `rmi` and prune leave a held image
 * alone (`rmi -f` drops its name but not its layers) and the collector keeps
 * the layers and config, but goes on with everything else.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withLock } from "../../fs-util.ts";
import { processAlive } from "../../process-alive.ts";

export interface Lease {
  release(): void;
}

/** What live image holds keep: image IDs (config blobs) and layer DiffIDs. */
export interface Held {
  images: Set<string>;
  layers: Set<string>;
}

export class Leases {
  constructor(readonly root: string) {}

  private get dir(): string {
    return join(this.root, "leases");
  }

  get lockFile(): string {
    return join(this.root, "gc.lock");
  }

  /** Takes a lease; release it in a `finally`. */
  async acquire(): Promise<Lease> {
    const file = join(this.dir, `${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
    await withLock(this.lockFile, () => {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(file, String(process.pid));
    });
    return { release: () => rmSync(file, { force: true }) };
  }

  private get holdDir(): string {
    return join(this.root, "image-holds");
  }

  /**
   * Holds one image for a container being created. `stillThere` runs under
   * `gc.lock` before the hold is written: false (the image was removed since
   * it was resolved) takes no hold and returns undefined. Release once the
   * container's record is written, or creation failed.
   */
  async hold(imageId: string, layers: string[], stillThere: () => boolean): Promise<Lease | undefined> {
    const file = join(this.holdDir, `${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
    const taken = await withLock(this.lockFile, () => {
      if (!stillThere()) return false;
      mkdirSync(this.holdDir, { recursive: true });
      writeFileSync(file, JSON.stringify({ imageId, layers }));
      return true;
    });
    return taken ? { release: () => rmSync(file, { force: true }) } : undefined;
  }

  /**
   * Images and layers live holds keep (read under `gc.lock`, and before the
   * container records: a hold is released only after its record is written).
   * Holds whose process is gone are removed on the way.
   */
  held(): Held {
    const held: Held = { images: new Set(), layers: new Set() };
    let names: string[];
    try {
      names = readdirSync(this.holdDir);
    } catch {
      return held;
    }
    for (const n of names) {
      const path = join(this.holdDir, n);
      if (!processAlive(Number(n.split("-")[0]))) {
        rmSync(path, { force: true });
        continue;
      }
      try {
        const h = JSON.parse(readFileSync(path, "utf8")) as { imageId: string; layers: string[] };
        held.images.add(h.imageId);
        for (const l of h.layers) held.layers.add(l);
      } catch {
        // released meanwhile
      }
    }
    return held;
  }

  /** True when a live process holds a lease; stale leases are removed on the way. */
  anyLive(): boolean {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return false;
    }
    let live = false;
    for (const n of names) {
      const pid = Number(n.split("-")[0]);
      if (processAlive(pid)) live = true;
      else rmSync(join(this.dir, n), { force: true });
    }
    return live;
  }
}

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
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withLock } from "../../fs-util.ts";
import { processAlive } from "../../process-alive.ts";

export interface Lease {
  release(): void;
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

/**
 * Unpacked layers, one directory each, usable as an overlayfs lower dir:
 * `layers/<diff-id hex>/diff`.
 *
 * Layers are keyed by DiffID (the digest of the uncompressed tar) rather
 * than by ChainID: each layer's directory holds only its own changes in
 * overlay format, which do not depend on its parents, so two images that
 * share a layer share its directory whatever sits below it.
 *
 * A layer is unpacked into `layers/incoming/` and renamed into place only
 * once complete, so a pull killed mid-way never leaves a visible half layer.
 *
 * Layer files keep their owners (subordinate ids of the user, see
 * unpack/userns-unpack.ts), which the user may not be able to delete from
 * outside: every removal goes through `removeTree`, which falls back to a
 * user namespace. `root` is `<data dir>/storage`.
 */
import { existsSync, mkdirSync, readdirSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { readJson, writeJsonAtomic } from "../../fs-util.ts";
import { removeTree } from "../../runtime/remove-tree.ts";
import { processAlive } from "../../process-alive.ts";

export interface LayerRecord {
  diffId: string;
  /** Compressed blob this layer was unpacked from, if any. */
  blobDigest?: string;
  /** Uncompressed size in bytes. */
  size: number;
  created: string;
}

export interface PreparedLayer {
  /** Directory to unpack into. */
  readonly diffDir: string;
  commit(record: Omit<LayerRecord, "created">): Promise<void>;
  abort(): Promise<void>;
}

export class LayerStore {
  constructor(readonly root: string) {}

  private dir(diffId: string): string {
    return join(this.root, "layers", diffId.replace(/^sha256:/, ""));
  }

  diffDir(diffId: string): string {
    return join(this.dir(diffId), "diff");
  }

  has(diffId: string): boolean {
    return existsSync(join(this.dir(diffId), "layer.json"));
  }

  get(diffId: string): LayerRecord | undefined {
    return readJson<LayerRecord>(join(this.dir(diffId), "layer.json"));
  }

  list(): string[] {
    try {
      return readdirSync(join(this.root, "layers")).filter((d) => /^[a-f0-9]{64}$/.test(d)).map((d) => `sha256:${d}`);
    } catch {
      return [];
    }
  }

  prepare(): PreparedLayer {
    const incoming = join(this.root, "layers", "incoming", `${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
    const diffDir = join(incoming, "diff");
    mkdirSync(diffDir, { recursive: true, mode: 0o755 });
    return {
      diffDir,
      commit: async (record) => {
        writeJsonAtomic(join(incoming, "layer.json"), { ...record, created: new Date().toISOString() } satisfies LayerRecord);
        try {
          renameSync(incoming, this.dir(record.diffId));
        } catch (err) {
          // Another pull committed the same layer first: theirs is as good as ours.
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
          await this.removeDir(incoming);
        }
      },
      abort: () => this.removeDir(incoming),
    };
  }

  remove(diffId: string): Promise<void> {
    return this.removeDir(this.dir(diffId));
  }

  private removeDir(path: string): Promise<void> {
    return removeTree(dirname(this.root), path);
  }

  /** Removes what killed pulls left in `incoming/` (only entries whose process is gone). */
  async sweepIncoming(): Promise<void> {
    const dir = join(this.root, "layers", "incoming");
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const pid = Number(e.split("-")[0]);
      if (pid === process.pid || processAlive(pid)) continue;
      await this.removeDir(join(dir, e));
    }
  }
}

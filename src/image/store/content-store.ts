/**
 * Content-addressed blobs: `blobs/sha256/<hex>` under the data dir.
 *
 * As in containerd's content store, a blob becomes visible only after its
 * size and digest were checked: bytes stream into `blobs/ingest/`, and
 * `commit` renames them in. A mismatch leaves the store as it was. What a
 * killed writer leaves in `ingest/` (or as a `.tmp-<pid>-…` name beside the
 * blobs and the image index) is swept by the next writer, see `sweepStale`.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { CtrError } from "../../errors.ts";
import { writeFileAtomic } from "../../fs-util.ts";
import { processAlive } from "../../process-alive.ts";

/** The writer's pid in an ingest name (`<hex>-<pid>-<rand>`) or a temporary name (`<name>.tmp-<pid>-<rand>`). */
const WRITER_PID = /(?:^[a-f0-9]{64}-|\.tmp-)(\d+)-[a-z0-9]+$/;

export function sha256Hex(data: Uint8Array | string): string {
  return new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

export function digestOf(data: Uint8Array | string): string {
  return `sha256:${sha256Hex(data)}`;
}

function hexOf(digest: string): string {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!m) throw new CtrError(`unsupported digest "${digest}"`, { kind: "invalid" });
  return m[1]!;
}

/** A blob being written: feed chunks, then `commit` (verify + rename) or `abort`. */
export interface Ingest {
  write(chunk: Uint8Array): void;
  commit(): void;
  abort(): void;
  readonly written: number;
}

export class ContentStore {
  constructor(readonly root: string) {}

  path(digest: string): string {
    return join(this.root, "blobs", "sha256", hexOf(digest));
  }

  has(digest: string): boolean {
    return existsSync(this.path(digest));
  }

  size(digest: string): number {
    return statSync(this.path(digest)).size;
  }

  read(digest: string): Uint8Array {
    return readFileSync(this.path(digest));
  }

  readJson<T>(digest: string): T {
    return JSON.parse(readFileSync(this.path(digest), "utf8")) as T;
  }

  /** Every committed blob's digest. */
  list(): string[] {
    try {
      return readdirSync(join(this.root, "blobs", "sha256")).filter((h) => /^[a-f0-9]{64}$/.test(h)).map((h) => `sha256:${h}`);
    } catch {
      return [];
    }
  }

  remove(digest: string): void {
    rmSync(this.path(digest), { force: true });
  }

  /** Stores bytes already in memory (manifests, configs) after checking their digest. */
  put(bytes: Uint8Array, expected?: string): string {
    const digest = digestOf(bytes);
    if (expected && expected !== digest) throw new CtrError(`content does not match digest ${expected}: got ${digest}`, { kind: "invalid" });
    if (!this.has(digest)) writeFileAtomic(this.path(digest), bytes, 0o644);
    return digest;
  }

  /**
   * Removes the partial blobs and temporary files of writers that are gone
   * (killed mid-pull): in `blobs/ingest/`, `blobs/sha256/` and the store
   * root (the image index's temporary names). Live writers' files stay.
   */
  sweepStale(): void {
    for (const dir of [join(this.root, "blobs", "ingest"), join(this.root, "blobs", "sha256"), this.root]) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        const pid = WRITER_PID.exec(name)?.[1];
        if (pid && Number(pid) !== process.pid && !processAlive(Number(pid))) rmSync(join(dir, name), { force: true });
      }
    }
  }

  /** Starts writing a blob whose digest and size are known up front (from a descriptor). */
  ingest(digest: string, size: number, what: string): Ingest {
    const target = this.path(digest);
    const dir = join(this.root, "blobs", "ingest");
    mkdirSync(dir, { recursive: true });
    mkdirSync(join(this.root, "blobs", "sha256"), { recursive: true });
    const tmp = join(dir, `${hexOf(digest)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    const fd = openSync(tmp, "w", 0o644);
    const hasher = new Bun.CryptoHasher("sha256");
    let written = 0;
    let closed = false;
    const close = () => {
      if (!closed) closeSync(fd);
      closed = true;
    };
    return {
      get written() {
        return written;
      },
      write(chunk) {
        hasher.update(chunk);
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
        written += chunk.length;
        if (written > size) throw new CtrError(`${what} is larger than its descriptor says (${size} bytes)`, { kind: "invalid" });
      },
      commit() {
        close();
        const got = `sha256:${hasher.digest("hex")}`;
        if (written !== size || got !== digest) {
          rmSync(tmp, { force: true });
          throw new CtrError(
            written !== size ? `${what} is truncated: got ${written} of ${size} bytes` : `${what} does not match its digest: got ${got}`,
            { kind: "invalid" },
          );
        }
        renameSync(tmp, target);
      },
      abort() {
        close();
        rmSync(tmp, { force: true });
      },
    };
  }
}

/**
 * The image index: which names point at which image, in `images.json`.
 *
 * An image's ID is the digest of its config, as in docker. A name belongs to
 * one image at a time: tagging or pulling a name moves it, and an image left
 * without names is dangling (`<none>`), as docker shows it.
 */
import { join } from "node:path";
import { CtrError } from "../../errors.ts";
import { readJson, withLock, writeJsonAtomic } from "../../fs-util.ts";

export interface ImageRecord {
  /** Config digest: the image ID. */
  id: string;
  /** Digest of the manifest that was pulled (for a multi-arch image, the platform's manifest). */
  manifestDigest: string;
  /** Digest of the index the manifest was chosen from, if any. */
  indexDigest?: string;
  /** Fully qualified names, e.g. `docker.io/library/alpine:latest`. */
  names: string[];
  /** Repository@digest spellings this image was pulled by (`images --digests`). */
  repoDigests: string[];
  /** The manifest (or index) digest each name was last pulled by, where it was. */
  nameDigests?: Record<string, string>;
  /** DiffIDs, bottom-most first. */
  layers: string[];
  /** Sum of uncompressed layer sizes. */
  size: number;
  created?: string;
  pulled: string;
}

interface IndexFile {
  images: ImageRecord[];
}

export class ImageStore {
  constructor(readonly root: string) {}

  private get file(): string {
    return join(this.root, "images.json");
  }

  private get lockFile(): string {
    return join(this.root, "images.lock");
  }

  list(): ImageRecord[] {
    return readJson<IndexFile>(this.file)?.images ?? [];
  }

  /** Finds by full name, by ID or a unique ID prefix (with or without `sha256:`). */
  find(nameOrId: string): ImageRecord | undefined {
    const images = this.list();
    const byName = images.find((i) => i.names.includes(nameOrId) || i.repoDigests.includes(nameOrId));
    if (byName) return byName;
    const hex = nameOrId.replace(/^sha256:/, "");
    if (!/^[a-f0-9]{3,64}$/.test(hex)) return undefined;
    const matches = images.filter((i) => i.id.slice(7).startsWith(hex));
    if (matches.length > 1) throw new CtrError(`image ID prefix "${nameOrId}" is ambiguous`, { kind: "invalid" });
    return matches[0];
  }

  /** Adds or updates an image, moving each of its names away from any other image. */
  async save(record: ImageRecord): Promise<void> {
    await this.update((images) => {
      for (const other of images) {
        if (other.id === record.id) continue;
        other.names = other.names.filter((n) => !record.names.includes(n));
      }
      const existing = images.find((i) => i.id === record.id);
      if (existing) {
        existing.names = [...new Set([...existing.names, ...record.names])];
        existing.repoDigests = [...new Set([...existing.repoDigests, ...record.repoDigests])];
        if (record.nameDigests) existing.nameDigests = { ...existing.nameDigests, ...record.nameDigests };
        existing.manifestDigest = record.manifestDigest;
        existing.indexDigest = record.indexDigest;
        existing.pulled = record.pulled;
      } else {
        images.push(record);
      }
    });
  }

  /**
   * Points `name` at the image `id`, moving it away from any other image.
   * Throws not-found when `id` is not stored.
   */
  async tag(id: string, name: string): Promise<void> {
    await this.update((images) => {
      const target = images.find((i) => i.id === id);
      if (!target) throw new CtrError(`image "${id}" not known`, { kind: "not-found" });
      for (const other of images) if (other !== target) other.names = other.names.filter((n) => n !== name);
      if (!target.names.includes(name)) target.names.push(name);
    });
  }

  /** Read-modify-write of the index under the store lock. */
  async update(fn: (images: ImageRecord[]) => void): Promise<void> {
    await withLock(this.lockFile, () => {
      const images = this.list();
      fn(images);
      writeJsonAtomic(this.file, { images } satisfies IndexFile);
    });
  }
}

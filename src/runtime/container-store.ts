/**
 * Container definitions: `containers/<id>/` under the data dir holds
 * `container.json` (what the user asked for), `bundle/config.json` (the OCI
 * spec handed to the shim) and the writable layer (`upper/`, `work/`).
 * Live state lives apart, under the runtime dir (see `state.ts`).
 */
import { existsSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { CtrError, EXIT_ENGINE } from "../errors.ts";
import { readJson, withLock, writeJsonAtomic } from "../fs-util.ts";
import { VALID_NAME } from "./names.ts";
import type { RootfsLayout } from "./spec.ts";
import type { ContainerNetwork } from "../network/start.ts";

export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  /** The image as the user typed it, and what it resolved to. */
  image: string;
  imageName: string;
  imageId: string;
  /** The process argv the container runs. */
  command: string[];
  rootfs: RootfsLayout;
  bundle: string;
  autoRemove: boolean;
  tty: boolean;
  labels: Record<string, string>;
  /** `-i`: the container's stdin stays open. */
  interactive?: boolean;
  /** `--restart` as given: no, always, unless-stopped, on-failure[:N]. */
  restartPolicy?: string;
  /** Signal name (`SIGTERM`) for `stop`: `--stop-signal`, else the image's StopSignal. */
  stopSignal?: string;
  /** Seconds `stop` waits before SIGKILL (`--stop-timeout`). */
  stopTimeout?: number;
  /** Volumes, bind mounts and tmpfs mounts (`-v`, `--mount`, `--tmpfs`, the image's VOLUMEs). */
  mounts?: MountRecord[];
  /** `--network` and `-p` as given (absent: created before networking, i.e. `none`). */
  network?: ContainerNetwork;
  /** What inspect shows under Config. */
  config?: {
    env: string[];
    workingDir: string;
    user: string;
    hostname: string;
    entrypoint: string[];
    cmd: string[];
  };
}

/** One of a container's mounts, shaped as docker's inspect shows `Mounts`. */
export interface MountRecord {
  Type: "bind" | "volume" | "tmpfs";
  /** The volume's name (Type volume). */
  Name?: string;
  Source: string;
  Destination: string;
  RW: boolean;
  /** An anonymous volume made for this container: `rm -v` removes it. */
  Anonymous?: boolean;
}

/** A container id as a directory name: 64 lowercase hex digits. */
const FULL_ID = /^[a-f0-9]{64}$/;

/**
 * The store of container records. Names are indexed in `container-names/`
 * (one symlink per name, pointing at the id), so that `run`, `create` and
 * lookups by name or id read one record, not all of them: with hundreds of
 * containers, reading every record was most of a `run`. The index is
 * written under the store lock with the records; a link whose container is
 * gone (removed by an older ctr, or by hand) counts as free. A store from
 * before the index gets it built on its first `create`.
 */
export class ContainerStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, "containers", id);
  }

  private get lockFile(): string {
    return join(this.root, "containers.lock");
  }

  private get namesDir(): string {
    return join(this.root, "container-names");
  }

  private read(id: string): ContainerRecord | undefined {
    return FULL_ID.test(id) ? readJson<ContainerRecord>(join(this.dir(id), "container.json")) : undefined;
  }

  private ids(): string[] {
    try {
      return readdirSync(join(this.root, "containers")).filter((id) => FULL_ID.test(id));
    } catch {
      return [];
    }
  }

  list(): ContainerRecord[] {
    return this.ids().flatMap((id) => {
      const rec = this.read(id);
      return rec ? [rec] : [];
    });
  }

  /** The container holding `name` per the index (checked against its record); undefined without an index. */
  private byName(name: string): ContainerRecord | null | undefined {
    let id: string;
    try {
      id = readlinkSync(join(this.namesDir, name));
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "ENOENT" && existsSync(this.namesDir) ? null : undefined;
    }
    const rec = this.read(id);
    return rec?.name === name ? rec : null;
  }

  /** Finds by name, full id or unique id prefix; throws a not-found CtrError otherwise. */
  get(nameOrId: string): ContainerRecord {
    const named = VALID_NAME.test(nameOrId) ? this.byName(nameOrId) : null;
    if (named) return named;
    const exact = this.read(nameOrId);
    if (exact) return exact;
    // No index yet (a store from an older ctr): names are only in the records.
    if (named === undefined) {
      const hit = this.list().find((c) => c.name === nameOrId);
      if (hit) return hit;
    }
    const byPrefix = /^[a-f0-9]+$/.test(nameOrId) ? this.ids().filter((id) => id.startsWith(nameOrId)) : [];
    if (byPrefix.length > 1) throw new CtrError(`container ID prefix "${nameOrId}" is ambiguous`, { kind: "invalid" });
    const rec = byPrefix.length === 1 ? this.read(byPrefix[0]!) : undefined;
    if (rec) return rec;
    throw new CtrError(`no such container: ${nameOrId}`, { kind: "not-found", exitCode: EXIT_ENGINE });
  }

  /** Under the store lock: builds the name index of a store that has none. */
  private ensureIndex(): void {
    if (existsSync(this.namesDir)) return;
    const tmp = `${this.namesDir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
    for (const rec of this.list()) {
      try {
        symlinkSync(rec.id, join(tmp, rec.name));
      } catch {
        // two records with one name (made before names were checked): the first keeps it
      }
    }
    renameSync(tmp, this.namesDir);
  }

  /** Under the store lock: gives `name` to `id`, or throws a conflict if another container has it. */
  private claimName(name: string, id: string): void {
    const link = join(this.namesDir, name);
    try {
      symlinkSync(id, link);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = readlinkSync(link);
    if (holder !== id && this.read(holder)?.name === name) {
      throw new CtrError(`the container name "${name}" is already in use`, { kind: "conflict" });
    }
    // A leftover of a container that is gone.
    unlinkSync(link);
    symlinkSync(id, link);
  }

  /** Under the store lock: frees `name` if `id` holds it. */
  private releaseName(name: string, id: string): void {
    const link = join(this.namesDir, name);
    try {
      if (readlinkSync(link) === id) unlinkSync(link);
    } catch {
      // not indexed
    }
  }

  /**
   * Creates the container's directories and record under the store lock, so
   * two `run --name x` at once cannot both get the name. The record is
   * written to a temporary directory and renamed in complete.
   */
  async create(rec: ContainerRecord, prepare: (dir: string) => void): Promise<void> {
    await withLock(this.lockFile, () => {
      this.ensureIndex();
      this.claimName(rec.name, rec.id);
      const tmp = join(this.root, "containers", `.tmp-${rec.id}`);
      try {
        mkdirSync(tmp, { recursive: true, mode: 0o700 });
        prepare(tmp);
        writeJsonAtomic(join(tmp, "container.json"), rec);
        renameSync(tmp, this.dir(rec.id));
      } catch (err) {
        rmSync(tmp, { recursive: true, force: true });
        this.releaseName(rec.name, rec.id);
        throw err;
      }
    });
  }

  /**
   * Changes a record under the store lock; `change` may throw. A new name
   * must not be in use by another container.
   */
  async update(id: string, change: (rec: ContainerRecord) => void): Promise<ContainerRecord> {
    return withLock(this.lockFile, () => {
      const path = join(this.dir(id), "container.json");
      const rec = readJson<ContainerRecord>(path);
      if (!rec) throw new CtrError(`no such container: ${id}`, { kind: "not-found" });
      const oldName = rec.name;
      change(rec);
      if (rec.name !== oldName) {
        this.ensureIndex();
        this.claimName(rec.name, id);
      }
      try {
        writeJsonAtomic(path, rec);
      } catch (err) {
        if (rec.name !== oldName) this.releaseName(rec.name, id);
        throw err;
      }
      if (rec.name !== oldName) this.releaseName(oldName, id);
      return rec;
    });
  }

  /**
   * Deletes the record and frees its name. The caller has removed the rest
   * of the container's directory first, so that a removal cut short leaves
   * a record `rm` still finds.
   */
  async forget(rec: ContainerRecord): Promise<void> {
    rmSync(this.dir(rec.id), { recursive: true, force: true });
    await withLock(this.lockFile, () => this.releaseName(rec.name, rec.id));
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }
}

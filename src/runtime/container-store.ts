/**
 * Container definitions: `containers/<id>/` under the data dir holds
 * `container.json` (what the user asked for), `bundle/config.json` (the OCI
 * spec handed to the shim) and the writable layer (`upper/`, `work/`).
 * Live state lives apart, under the runtime dir (see `state.ts`).
 */
import { mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CtrError, EXIT_ENGINE } from "../errors.ts";
import { readJson, withLock, writeJsonAtomic } from "../fs-util.ts";
import type { RootfsLayout } from "./spec.ts";

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
  network?: { mode: "slirp4netns" | "none" | "host"; allowHostLoopback?: boolean; publish: string[]; addHosts?: string[] };
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

export class ContainerStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, "containers", id);
  }

  private get lockFile(): string {
    return join(this.root, "containers.lock");
  }

  list(): ContainerRecord[] {
    let ids: string[];
    try {
      ids = readdirSync(join(this.root, "containers"));
    } catch {
      return [];
    }
    return ids.flatMap((id) => {
      const rec = /^[a-f0-9]{64}$/.test(id) ? readJson<ContainerRecord>(join(this.dir(id), "container.json")) : undefined;
      return rec ? [rec] : [];
    });
  }

  /** Finds by name, full id or unique id prefix; throws a not-found CtrError otherwise. */
  get(nameOrId: string): ContainerRecord {
    const all = this.list();
    const hit = all.find((c) => c.name === nameOrId || c.id === nameOrId);
    if (hit) return hit;
    const byPrefix = /^[a-f0-9]+$/.test(nameOrId) ? all.filter((c) => c.id.startsWith(nameOrId)) : [];
    if (byPrefix.length === 1) return byPrefix[0]!;
    if (byPrefix.length > 1) throw new CtrError(`container ID prefix "${nameOrId}" is ambiguous`, { kind: "invalid" });
    throw new CtrError(`no such container: ${nameOrId}`, { kind: "not-found", exitCode: EXIT_ENGINE });
  }

  /**
   * Creates the container's directories and record under the store lock, so
   * two `run --name x` at once cannot both get the name. The record is
   * written to a temporary directory and renamed in complete.
   */
  async create(rec: ContainerRecord, prepare: (dir: string) => void): Promise<void> {
    await withLock(this.lockFile, () => {
      if (this.list().some((c) => c.name === rec.name)) {
        throw new CtrError(`the container name "${rec.name}" is already in use`, { kind: "conflict" });
      }
      const tmp = join(this.root, "containers", `.tmp-${rec.id}`);
      mkdirSync(tmp, { recursive: true, mode: 0o700 });
      try {
        prepare(tmp);
        writeJsonAtomic(join(tmp, "container.json"), rec);
        renameSync(tmp, this.dir(rec.id));
      } catch (err) {
        rmSync(tmp, { recursive: true, force: true });
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
      if (rec.name !== oldName && this.list().some((c) => c.name === rec.name && c.id !== id)) {
        throw new CtrError(`the container name "${rec.name}" is already in use`, { kind: "conflict" });
      }
      writeJsonAtomic(path, rec);
      return rec;
    });
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }
}

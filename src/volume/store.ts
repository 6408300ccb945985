/**
 * Volumes: `volumes/<name>/` under the data dir holds `volume.json` (what
 * `volume inspect` shows) and `_data/` (what containers mount), as podman
 * lays them out. A volume is in use while any container's record lists it
 * among its mounts; the store never removes one that is.
 *
 * A container being created uses its volumes before its record exists, so
 * it holds a lease (`volume-leases/<pid>-<random>`, the names it took) from
 * the moment each volume is created or found until its record is written.
 * Taking a lease and removing a volume both happen under `volumes.lock`,
 * and removal reads the container records under it: it sees the lease or
 * the record, never neither. A lease whose process is gone does not count.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CtrError } from "../errors.ts";
import { readJson, withLock, writeJsonAtomic } from "../fs-util.ts";
import { processAlive } from "../process-alive.ts";

/** docker's and podman's rule for volume names. */
export const VALID_VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export interface VolumeRecord {
  Name: string;
  Driver: "local";
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: "local";
  /** `-o` as given: `type`, `device`, `o`. */
  Options: Record<string, string>;
  /** Made for a container (`-v /path`, an image's VOLUME) rather than by name. */
  Anonymous: boolean;
  /** Still to be filled from the image the first container mounting it comes from. */
  NeedsCopyUp: boolean;
}

export function checkVolumeName(name: string): void {
  if (!VALID_VOLUME_NAME.test(name)) {
    throw new CtrError(`invalid volume name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, { kind: "invalid" });
  }
}

/** Random 64-hex name for an anonymous volume, as docker names them. */
export function anonymousVolumeName(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
}

/** The volumes a container being created has taken; release once its record is written. */
export interface VolumeLease {
  readonly file: string;
  release(): void;
}

export interface CreateVolumeOptions {
  labels?: Record<string, string>;
  options?: Record<string, string>;
  anonymous?: boolean;
}

export class VolumeStore {
  constructor(readonly root: string) {}

  dir(name: string): string {
    return join(this.root, "volumes", name);
  }

  private get lockFile(): string {
    return join(this.root, "volumes.lock");
  }

  private get leaseDir(): string {
    return join(this.root, "volume-leases");
  }

  /** Runs `fn` under the store's lock (removals: see the module comment). */
  locked<T>(fn: () => T | Promise<T>): Promise<T> {
    return withLock(this.lockFile, fn);
  }

  /** A lease for a container being created; `create(…, lease)` adds names to it. */
  lease(): VolumeLease {
    const file = join(this.leaseDir, `${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
    return { file, release: () => rmSync(file, { force: true }) };
  }

  /**
   * Volumes live leases hold (call under {@link locked}); stale leases are
   * removed on the way. `othersOnly`: not this process's own leases.
   */
  leasedNames(othersOnly = false): Set<string> {
    const out = new Set<string>();
    let files: string[];
    try {
      files = readdirSync(this.leaseDir);
    } catch {
      return out;
    }
    for (const f of files) {
      const path = join(this.leaseDir, f);
      const pid = Number(f.split("-")[0]);
      if (othersOnly && pid === process.pid) continue;
      if (!processAlive(pid)) {
        rmSync(path, { force: true });
        continue;
      }
      try {
        for (const n of readFileSync(path, "utf8").split("\n")) if (n) out.add(n);
      } catch {
        // released meanwhile
      }
    }
    return out;
  }

  list(): VolumeRecord[] {
    let names: string[];
    try {
      names = readdirSync(join(this.root, "volumes"));
    } catch {
      return [];
    }
    return names.flatMap((n) => {
      const rec = VALID_VOLUME_NAME.test(n) ? readJson<VolumeRecord>(join(this.dir(n), "volume.json")) : undefined;
      return rec ? [rec] : [];
    });
  }

  find(name: string): VolumeRecord | undefined {
    if (!VALID_VOLUME_NAME.test(name)) return undefined;
    return readJson<VolumeRecord>(join(this.dir(name), "volume.json"));
  }

  get(name: string): VolumeRecord {
    const rec = this.find(name);
    if (!rec) throw new CtrError(`no such volume: ${name}`, { kind: "not-found" });
    return rec;
  }

  /** Creates a volume; an existing name is a conflict unless `existingOk` (how `-v name:/p` uses it). */
  async create(name: string, opts: CreateVolumeOptions = {}, existingOk = false, lease?: VolumeLease): Promise<VolumeRecord> {
    checkVolumeName(name);
    const options = opts.options ?? {};
    checkVolumeOptions(options);
    return withLock(this.lockFile, () => {
      if (lease) {
        mkdirSync(this.leaseDir, { recursive: true });
        appendFileSync(lease.file, `${name}\n`);
      }
      const existing = this.find(name);
      if (existing) {
        if (existingOk) return existing;
        throw new CtrError(`volume with name ${name} already exists`, { kind: "conflict" });
      }
      const rec: VolumeRecord = {
        Name: name,
        Driver: "local",
        Mountpoint: isBindVolume(options) ? options.device! : join(this.dir(name), "_data"),
        CreatedAt: new Date().toISOString(),
        Labels: opts.labels ?? {},
        Scope: "local",
        Options: options,
        Anonymous: opts.anonymous ?? false,
        NeedsCopyUp: options.type !== "tmpfs" && !isBindVolume(options),
      };
      const tmp = join(this.root, "volumes", `.tmp-${name}`);
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(join(tmp, "_data"), { recursive: true, mode: 0o755 });
      try {
        writeJsonAtomic(join(tmp, "volume.json"), rec);
        renameSync(tmp, this.dir(name));
      } catch (err) {
        rmSync(tmp, { recursive: true, force: true });
        throw err;
      }
      return rec;
    });
  }

  async update(name: string, change: (rec: VolumeRecord) => void): Promise<void> {
    await withLock(this.lockFile, () => {
      const rec = this.get(name);
      change(rec);
      writeJsonAtomic(join(this.dir(name), "volume.json"), rec);
    });
  }
}

/** `-o o=bind,device=DIR`: the volume is that host directory. */
export function isBindVolume(o: Record<string, string>): boolean {
  return o.type !== "tmpfs" && (o.o ?? "").split(",").some((p) => p === "bind" || p === "rbind");
}

/** `volume create -o`: the local driver's `type`, `device` and `o` (as `mount -t TYPE -o O DEVICE`). */
function checkVolumeOptions(o: Record<string, string>): void {
  for (const key of Object.keys(o)) {
    if (!["type", "device", "o"].includes(key)) throw new CtrError(`invalid volume option "${key}": expected type, device or o`, { kind: "invalid" });
  }
  if (o.type !== undefined && o.type !== "tmpfs" && o.type !== "none" && o.type !== "bind") {
    throw new CtrError(`unsupported volume option type="${o.type}": only tmpfs and bind (o=bind,device=DIR) work rootless`, { kind: "invalid" });
  }
  if (o.o !== undefined && o.type !== "tmpfs") {
    const parts = o.o.split(",");
    if (!parts.includes("bind") && !parts.includes("rbind")) throw new CtrError(`unsupported volume option o="${o.o}": a non-tmpfs local volume must be o=bind`, { kind: "invalid" });
    if (!o.device?.startsWith("/")) throw new CtrError(`volume option o=bind needs device=<absolute host directory>`, { kind: "invalid" });
  }
}

/**
 * Turns a container's mount requests and its image's `VOLUME`s into OCI
 * mounts and the record `inspect`, `volume rm` and `rm -v` read: named
 * volumes are created on first use, an image `VOLUME` no flag covers gets an
 * anonymous volume, and a fresh volume is filled from the image's content at
 * its path, as docker does.
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, chmodSync } from "node:fs";
import { join, normalize } from "node:path";
import { CtrError, errorText } from "../errors.ts";
import type { IdMapping, Mount } from "../oci/runtime.ts";
import type { MountRecord } from "../runtime/container-store.ts";
import { chownAsHostIds, hostIdOf } from "./chown.ts";
import type { MountRequest } from "./mount-spec.ts";
import { anonymousVolumeName, isBindVolume, type VolumeLease, type VolumeStore } from "./store.ts";

/** Who the container runs as, to own a fresh volume the image has nothing for (podman's NeedsChown). */
export interface VolumeOwner {
  uid: number;
  gid: number;
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

export interface ResolvedMounts {
  mounts: Mount[];
  records: MountRecord[];
  /**
   * Ends the lease that keeps `volume rm`/`prune` off the volumes taken:
   * call once the container's record is written (or its creation failed).
   */
  release(): void;
}

/**
 * @param requests parsed `-v`/`--mount`/`--tmpfs` flags
 * @param imageVolumes the image config's `Volumes` keys
 * @param lowerDirs the image's layer directories, bottom-most first (for copy-up)
 * @param owner the container's user: a fresh volume the image has no directory for is theirs
 * @throws CtrError when a `--mount` bind source is missing; nothing is created then
 */
export async function resolveMounts(store: VolumeStore, requests: MountRequest[], imageVolumes: string[], lowerDirs: string[], owner?: VolumeOwner): Promise<ResolvedMounts> {
  for (const r of requests) {
    if (r.type === "bind" && !r.createSource && !existsSync(r.source!)) {
      throw new CtrError(`bind source path does not exist: ${r.source}`, { kind: "not-found", exitCode: 125 });
    }
  }
  // docker's -v makes a missing host directory; done before any volume is made, so a failure leaves none.
  for (const r of requests) {
    if (r.type !== "bind" || existsSync(r.source!)) continue;
    try {
      mkdirSync(r.source!, { recursive: true, mode: 0o755 });
    } catch (err) {
      throw new CtrError(`cannot create bind source "${r.source}": ${errorText(err)}`, { cause: err });
    }
  }
  const all = [...requests];
  const covered = new Set(requests.map((r) => r.target));
  for (const v of imageVolumes) {
    const t = normalize(v).replace(/\/+$/, "");
    if (!t.startsWith("/") || t === "/" || covered.has(t)) continue;
    covered.add(t);
    all.push({ type: "volume", target: t, readonly: false, createSource: true, tmpfsOptions: [] });
  }
  const lease = store.lease();
  try {
    return { ...(await volumeMounts(store, all, lowerDirs, lease, owner)), release: lease.release };
  } catch (err) {
    lease.release();
    throw err;
  }
}

async function volumeMounts(store: VolumeStore, all: MountRequest[], lowerDirs: string[], lease: VolumeLease, owner?: VolumeOwner): Promise<Omit<ResolvedMounts, "release">> {
  const mounts: Mount[] = [];
  const records: MountRecord[] = [];
  for (const r of all) {
    const ro = r.readonly ? ["ro"] : [];
    if (r.type === "tmpfs") {
      mounts.push({ destination: r.target, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", ...ro, ...r.tmpfsOptions] });
      records.push({ Type: "tmpfs", Source: "", Destination: r.target, RW: !r.readonly });
      continue;
    }
    if (r.type === "bind") {
      mounts.push({ destination: r.target, type: "bind", source: r.source!, options: ["rbind", "rprivate", ...ro] });
      records.push({ Type: "bind", Source: r.source!, Destination: r.target, RW: !r.readonly });
      continue;
    }
    const anonymous = r.source === undefined;
    const vol = await store.create(r.source ?? anonymousVolumeName(), { anonymous }, true, lease);
    if (vol.Options.type === "tmpfs") {
      const data = (vol.Options.o ?? "").split(",").filter(Boolean);
      mounts.push({ destination: r.target, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", ...ro, ...data] });
    } else {
      if (!isBindVolume(vol.Options) && vol.NeedsCopyUp) {
        const owners = copyImagePath(lowerDirs, r.target, vol.Mountpoint);
        if (!owners.imageHasPath && owner) {
          const hu = hostIdOf(owner.uidMappings, owner.uid);
          const hg = hostIdOf(owner.gidMappings, owner.gid);
          if (hu !== undefined && hg !== undefined) addOwner(owners.byOwner, hu, hg, vol.Mountpoint);
        }
        await chownAsHostIds(store.root, owners.byOwner);
        await store.update(vol.Name, (v) => {
          v.NeedsCopyUp = false;
        });
      }
      mounts.push({ destination: r.target, type: "bind", source: vol.Mountpoint, options: ["rbind", "rprivate", ...ro] });
    }
    records.push({ Type: "volume", Name: vol.Name, Source: vol.Mountpoint, Destination: r.target, RW: !r.readonly, Anonymous: anonymous });
  }
  return { mounts, records };
}

/**
 * Copies what the image has at `path` into an empty volume directory,
 * applying the layers bottom-most first: a whiteout (character device 0/0)
 * in a higher layer deletes what lower ones put there. Returns the host
 * owners the copies must get (they are the user's until chowned), and
 * whether the image had anything at `path`.
 */
export function copyImagePath(lowerDirs: string[], path: string, dest: string): { imageHasPath: boolean; byOwner: Map<string, string[]> } {
  const owners = new Map<string, string>();
  let imageHasPath = false;
  const done = () => {
    const byOwner = new Map<string, string[]>();
    for (const [p, o] of owners) if (existsSync(p) || isLink(p)) addOwner(byOwner, ...(o.split(":").map(Number) as [number, number]), p);
    return { imageHasPath, byOwner };
  };
  if (readdirSync(dest).length > 0) return done();
  const rel = path.replace(/^\/+/, "");
  for (const layer of lowerDirs) {
    const src = join(layer, rel);
    let st;
    try {
      st = lstatSync(src);
    } catch {
      continue;
    }
    if (st.isCharacterDevice()) {
      for (const e of readdirSync(dest)) rmSync(join(dest, e), { recursive: true, force: true });
      imageHasPath = false;
      owners.clear();
    } else if (st.isDirectory()) {
      imageHasPath = true;
      chmodSync(dest, st.mode & 0o7777);
      noteOwner(owners, dest, st);
      copyTree(src, dest, owners);
    }
  }
  return done();
}

const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

function noteOwner(owners: Map<string, string>, path: string, st: { uid: number; gid: number }): void {
  if (st.uid === me.uid && st.gid === me.gid) owners.delete(path);
  else owners.set(path, `${st.uid}:${st.gid}`);
}

function addOwner(byOwner: Map<string, string[]>, uid: number, gid: number, path: string): void {
  if (uid === me.uid && gid === me.gid) return;
  const key = `${uid}:${gid}`;
  byOwner.set(key, [...(byOwner.get(key) ?? []), path]);
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function copyTree(src: string, dest: string, owners: Map<string, string>): void {
  for (const name of readdirSync(src)) {
    const from = join(src, name);
    const to = join(dest, name);
    const st = lstatSync(from);
    if (st.isCharacterDevice()) {
      rmSync(to, { recursive: true, force: true });
    } else if (st.isDirectory()) {
      if (!existsSync(to) || !statSync(to).isDirectory()) {
        rmSync(to, { recursive: true, force: true });
        mkdirSync(to, { mode: st.mode & 0o7777 });
      }
      chmodSync(to, st.mode & 0o7777);
      noteOwner(owners, to, st);
      copyTree(from, to, owners);
    } else if (st.isSymbolicLink()) {
      rmSync(to, { recursive: true, force: true });
      symlinkSync(readlinkSync(from), to);
      noteOwner(owners, to, st);
    } else if (st.isFile()) {
      rmSync(to, { recursive: true, force: true });
      copyFileSync(from, to);
      chmodSync(to, st.mode & 0o7777);
      noteOwner(owners, to, st);
    }
  }
}

/**
 * A container's writable layer (its overlay upper dir) read as changes:
 * `diff`'s A/C/D list, and the OCI layer tar that `commit` (and later
 * `build`, one step at a time) stores. Whiteouts become `.wh.<name>` files
 * and opaque directories `.wh..wh..opq`, as the image spec's layer.md says
 * (https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts).
 */
import { lstatSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { llistxattr, lgetxattr } from "../../host/libc.ts";
import type { TarHeader, TarWriter } from "../../image/archive/tar-writer.ts";
import type { IdMapping } from "../../oci/runtime.ts";
import { isOpaque, isWhiteout, MergedView, type FsNode } from "./merged-view.ts";

export interface Change {
  kind: "A" | "C" | "D";
  /** Absolute container path. */
  path: string;
}

interface UpperEntry extends FsNode {
  whiteout: boolean;
  opaque: boolean;
}

/** The upper dir's entries, parents first, sorted by name within a directory. */
export function* walkUpper(upperDir: string, rel = ""): Generator<UpperEntry> {
  let names: string[];
  try {
    names = readdirSync(rel === "" ? upperDir : join(upperDir, rel)).sort();
  } catch {
    return;
  }
  for (const name of names) {
    const r = rel === "" ? name : `${rel}/${name}`;
    const path = join(upperDir, r);
    const st = lstatSync(path);
    const whiteout = isWhiteout(path, st);
    const opaque = st.isDirectory() && isOpaque(path);
    yield { rel: r, path, st, whiteout, opaque };
    if (st.isDirectory()) yield* walkUpper(upperDir, r);
  }
}

/**
 * What the container changed against its image, as docker's `diff` lists
 * it: A added, C changed (including every directory whose contents
 * changed), D deleted; sorted by path.
 */
export function upperChanges(upperDir: string, lowerDirs: string[]): Change[] {
  const lower = new MergedView(lowerDirs);
  const out: Change[] = [];
  for (const e of walkUpper(upperDir)) {
    const inLower = lower.lookup(e.rel) !== undefined;
    if (e.whiteout) {
      if (inLower) out.push({ kind: "D", path: `/${e.rel}` });
      continue;
    }
    out.push({ kind: inLower ? "C" : "A", path: `/${e.rel}` });
    if (e.opaque && inLower) {
      // An opaque directory deletes whatever the image had in it and the container did not write again.
      for (const child of lower.readdir(e.rel)) {
        if (!lstatSync(join(upperDir, child.rel), { throwIfNoEntry: false })) out.push({ kind: "D", path: `/${child.rel}` });
      }
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Host ids back to container ids through the container's mappings; unmapped ids become nobody (65534). */
export function containerId(hostId: number, maps: IdMapping[]): number {
  for (const m of maps) if (hostId >= m.hostID && hostId < m.hostID + m.size) return m.containerID + (hostId - m.hostID);
  return 65534;
}

export interface TreeTarOptions {
  /** Owners as the container sees them; without, owners are written as on the host. */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  /** One owner for every entry (`cp` without `-a`: the receiving side's root). */
  owner?: { uid: number; gid: number };
  /** Prefix for every entry name (e.g. the base name `cp` copies as). */
  prefix?: string;
}

/** Extended attributes worth carrying into a tar: not overlay's own bookkeeping. */
function xattrsOf(path: string): Map<string, Uint8Array> | undefined {
  let names: string[];
  try {
    names = llistxattr(path);
  } catch {
    return undefined;
  }
  const out = new Map<string, Uint8Array>();
  for (const n of names) {
    if (n.startsWith("user.overlay.") || n.startsWith("trusted.")) continue;
    const v = lgetxattr(path, n);
    if (v !== undefined) out.set(n, v);
  }
  return out.size ? out : undefined;
}

function major(rdev: number): number {
  return ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}

function minor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
}

/**
 * Writes each node as a tar entry. Hard links between nodes become tar
 * hardlinks to the first name written; with `upper` semantics, whiteouts
 * become `.wh.` files and opaque directories get `.wh..wh..opq`.
 */
export async function writeTree(tw: TarWriter, nodes: Iterable<FsNode & { whiteout?: boolean; opaque?: boolean }>, opts: TreeTarOptions = {}): Promise<void> {
  const links = new Map<string, string>();
  const prefix = opts.prefix ?? "";
  for (const n of nodes) {
    const name = prefix === "" ? n.rel : n.rel === "" ? prefix : `${prefix}/${n.rel}`;
    if (name === "") continue;
    const st = n.st;
    const uid = opts.owner ? opts.owner.uid : opts.uidMappings ? containerId(st.uid, opts.uidMappings) : st.uid;
    const gid = opts.owner ? opts.owner.gid : opts.gidMappings ? containerId(st.gid, opts.gidMappings) : st.gid;
    const slash = name.lastIndexOf("/");
    const dir = slash < 0 ? "" : name.slice(0, slash + 1);
    if (n.whiteout) {
      await tw.addEntry({ name: `${dir}.wh.${name.slice(slash + 1)}`, type: "file", mode: 0, uid, gid, mtime: st.mtimeMs / 1000, size: 0 });
      continue;
    }
    const h: TarHeader = { name, type: "file", mode: st.mode, uid, gid, mtime: st.mtimeMs / 1000, xattrs: xattrsOf(n.path) };
    if (st.isDirectory()) {
      await tw.addEntry({ ...h, type: "dir" });
      if (n.opaque) await tw.addEntry({ name: `${name}/.wh..wh..opq`, type: "file", mode: 0, uid, gid, mtime: h.mtime, size: 0 });
    } else if (st.isSymbolicLink()) {
      await tw.addEntry({ ...h, type: "symlink", linkname: readlinkSync(n.path) });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? links.get(key) : undefined;
      if (first !== undefined) {
        await tw.addEntry({ ...h, type: "hardlink", linkname: first });
        continue;
      }
      if (st.nlink > 1) links.set(key, name);
      await tw.addEntry({ ...h, size: st.size }, st.size === 0 ? new Uint8Array(0) : Bun.file(n.path).stream());
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      await tw.addEntry({ ...h, type: st.isCharacterDevice() ? "char" : "block", devmajor: major(st.rdev), devminor: minor(st.rdev) });
    } else if (st.isFIFO()) {
      await tw.addEntry({ ...h, type: "fifo" });
    }
    // Sockets have no tar form: left out, as docker does.
  }
}


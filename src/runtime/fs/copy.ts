/**
 * `cp` between a container and the host, both directions, as docker does
 * it: a source directory is copied as a whole (its contents with `/.`),
 * into DEST when DEST is an existing directory, else as DEST.
 *
 * Everything moves as a tar stream. A stopped container is read through
 * its merged view and written into its upper dir (overlay rules: a new
 * directory over a whiteout becomes opaque). A running container's rootfs
 * is an overlay mounted only in its own mount namespace, and overlayfs
 * forbids changing the upper dir under a mounted overlay, so ctr goes
 * through the mounted tree itself, reached from outside as its init's
 * root (`liveRoot`, see `rerunForRunningContainer`): nothing runs inside
 * the container, so an image without `tar` (or any shell) works too.
 */
import { chmodSync, closeSync, linkSync, lstatSync, mkdirSync, openSync, symlinkSync, unlinkSync, writeSync, lchownSync, type Stats } from "node:fs";
import { basename, dirname, join, posix, resolve } from "node:path";
import { CtrError, errorText } from "../../errors.ts";
import { lsetxattr, lutimens, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from "../../host/libc.ts";
import { TarWriter } from "../../image/archive/tar-writer.ts";
import { readTar, type TarEntry } from "../../image/unpack/tar-reader.ts";
import type { ContainerRecord } from "../container-store.ts";
import { bundleIdMaps, containerIdMaps, containerView, isRunning, liveRoot } from "./container-fs.ts";
import { writeTree } from "./layer-diff.ts";
import { clean, isWhiteout, MergedView, type FsNode } from "./merged-view.ts";
import { canEnter, inContainerUserns, selfBinary, spawnInUserns } from "./userns.ts";

export interface CopyOptions {
  /** `-a`: keep owners (uid/gid) instead of making the receiving side's root/user own the copy. */
  archive: boolean;
  log: (line: string) => void;
}

/** `container:path` or a host path; a host path with a `:` must contain a `/` before it (`./a:b`). */
export function parseCopyArg(arg: string): { container?: string; path: string } {
  const colon = arg.indexOf(":");
  if (colon <= 0 || arg.slice(0, colon).includes("/")) return { path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

/** Streams what `fn` writes to a TarWriter as a byte stream. */
function tarStream(fn: (tw: TarWriter) => Promise<void>): ReadableStream<Uint8Array> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const w = writable.getWriter();
  void (async () => {
    try {
      const tw = new TarWriter((c) => w.write(c.slice()));
      await fn(tw);
      await tw.finish();
      await w.close();
    } catch (err) {
      await w.abort(err).catch(() => {});
    }
  })();
  return readable;
}

/** Container path `path` as the container sees it (relative to the container's cwd "/"). */
function containerRel(path: string): string {
  return clean(path);
}

/** Copies `srcPath` out of the container to host `dest` (`-` writes a tar to stdout). */
export async function copyFromContainer(rec: ContainerRecord, srcPath: string, dest: string, opts: CopyOptions, stdout?: (c: Uint8Array) => void): Promise<void> {
  const rel = containerRel(srcPath);
  const contents = /\/\.$/.test(srcPath);
  const name = rel === "" ? "." : posix.basename(rel);
  // Running: the mounted tree, as the container sees it (one "layer"); stopped: its layers.
  const live = isRunning(rec);
  const view = live ? new MergedView([liveRoot(rec)]) : containerView(rec);
  const resolved = view.resolve(rel);
  const node = resolved === undefined ? undefined : view.lookup(resolved);
  if (!node || resolved === undefined) throw new CtrError(`could not find "${srcPath}" in container ${rec.name}`, { kind: "not-found" });
  const srcIsDir = node.st.isDirectory();
  const nodes = live ? walkWithoutKernelMounts(view, resolved) : view.walk(resolved);
  const tar = tarStream((tw) => writeTree(tw, renamed(nodes, resolved), { ...containerIdMaps(rec), prefix: name }));
  if (dest === "-") {
    for await (const c of tar) stdout?.(c);
  } else {
    const target = hostTarget(dest, srcIsDir, contents, name);
    const maps = bundleIdMaps(rec);
    if (opts.archive && canEnter(maps)) {
      // Only root of the container's user namespace may give files the container's owners.
      const helper = await spawnInUserns(maps, [...selfBinary(), CP_EXTRACT_VERB, target.dir, name, target.as], "pipe");
      const sink = helper.stdin as import("bun").FileSink;
      try {
        for await (const c of tar) {
          sink.write(c);
          await sink.flush();
        }
      } finally {
        await sink.end();
      }
      const code = await helper.exited;
      if (code !== 0) throw new CtrError(`cannot copy "${srcPath}" from container ${rec.name} keeping owners: helper exited ${code}`);
    } else {
      await extractTo(tar, target.dir, { top: name, as: target.as, chown: opts.archive && (inContainerUserns() || process.getuid?.() === 0), log: opts.log });
    }
  }
}

/** Hidden verb: `ctr __cp-extract DIR TOP AS`, a tar on stdin; run as root of a container's user namespace. */
export const CP_EXTRACT_VERB = "__cp-extract";

/** The helper side of {@link CP_EXTRACT_VERB}: writes the tar on stdin under DIR keeping owners. */
export async function runCopyExtract(args: string[], log: (line: string) => void): Promise<number> {
  const [dir, top, as] = args;
  if (dir === undefined || top === undefined || as === undefined) throw new CtrError(`${CP_EXTRACT_VERB}: expected DIR TOP AS`, { kind: "invalid" });
  await extractTo(Bun.stdin.stream(), dir, { top, as, chown: true, log });
  return 0;
}

/**
 * Mount points of the runtime's own filesystems in a running container
 * (procfs, sysfs, the /dev tmpfs), whose contents are the kernel's, not the
 * container's: a copy of a tree above them keeps them as empty
 * directories, as a stopped container has them. Asked for by name they
 * are copied like any directory.
 */
const KERNEL_MOUNTS = ["proc", "sys", "dev"];

function* walkWithoutKernelMounts(view: MergedView, rel: string): Generator<FsNode> {
  const rootDev = view.lookup("")?.st.dev;
  const node = view.lookup(rel);
  if (!node) return;
  const prune = (n: FsNode) => KERNEL_MOUNTS.includes(n.rel) && n.st.isDirectory() && n.st.dev !== rootDev;
  function* below(dir: FsNode): Generator<FsNode> {
    for (const child of view.readdir(dir.rel)) {
      yield child;
      if (child.st.isDirectory() && !prune(child)) yield* below(child);
    }
  }
  yield node;
  if (node.st.isDirectory()) yield* below(node);
}

/** Nodes of `walk(rel)` with paths relative to `rel`. */
function* renamed(nodes: Iterable<FsNode>, rel: string): Generator<FsNode> {
  for (const n of nodes) yield { ...n, rel: rel === "" ? n.rel : n.rel.slice(rel.length + 1) };
}

/** Where on the host the copy lands: `as` replaces the tar's top-level name under `dir` ("" = into `dir` itself). */
function hostTarget(dest: string, srcIsDir: boolean, contents: boolean, name: string): { dir: string; as: string } {
  const abs = resolve(dest);
  const st = lstatSync(abs, { throwIfNoEntry: false });
  if (st?.isDirectory()) return contents ? { dir: abs, as: "" } : { dir: abs, as: name };
  if (st && srcIsDir) throw new CtrError(`cannot copy a directory to "${dest}": it is not a directory`, { kind: "invalid" });
  if (!st && dest.endsWith("/")) throw new CtrError(`destination directory "${dest}" does not exist`, { kind: "not-found" });
  const parent = lstatSync(dirname(abs), { throwIfNoEntry: false });
  if (!parent?.isDirectory()) throw new CtrError(`destination "${dirname(abs)}" is not a directory`, { kind: "not-found" });
  return { dir: dirname(abs), as: basename(abs) };
}

interface ExtractOptions {
  /** The tar's top-level name, replaced by `as` ("" drops it: its contents go into `dir`). */
  top: string;
  as: string;
  chown: boolean;
  log: (line: string) => void;
  /** Writing into an overlay upper dir: lift whiteouts, make a directory over one opaque. */
  upper?: boolean;
}

function lstatOr(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

/**
 * Writes the tar's entries under `dir`, never through a symlink: each
 * parent of an entry must be a real directory below `dir`.
 */
async function extractTo(tar: ReadableStream<Uint8Array>, dir: string, opts: ExtractOptions): Promise<void> {
  const dirTimes: [string, TarEntry["mtime"]][] = [];
  const mapName = (raw: string): string | undefined => {
    const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
    if (parts.includes("..")) throw new CtrError(`tar entry "${raw}" points outside the copy`, { kind: "invalid" });
    if (parts.length === 0 || parts[0] !== opts.top) return opts.top === "." ? (opts.as === "" ? parts.join("/") : [opts.as, ...parts].join("/")) : undefined;
    const rest = parts.slice(1);
    return (opts.as === "" ? rest : [opts.as, ...rest]).join("/");
  };
  for await (const e of readTar(tar, { label: "copy" })) {
    if (e.type === "unknown") continue;
    const rel = mapName(e.path);
    if (rel === undefined) continue;
    const path = rel === "" ? dir : join(dir, rel);
    // Each parent must be a directory we did not reach through a symlink.
    let at = dir;
    for (const part of rel.split("/").slice(0, -1)) {
      at = join(at, part);
      if (!lstatOr(at)?.isDirectory()) throw new CtrError(`cannot copy "${e.path}": "${at}" is not a directory`, { kind: "invalid" });
    }
    const existing = lstatOr(path);
    let opaque = false;
    if (existing && opts.upper && isWhiteout(path, existing)) {
      unlinkSync(path);
      opaque = e.type === "dir";
    } else if (existing && (e.type !== "dir" || !existing.isDirectory())) {
      if (existing.isDirectory()) {
        if (e.type !== "dir") throw new CtrError(`cannot overwrite directory "${path}" with a non-directory`, { kind: "invalid" });
      } else unlinkSync(path);
    }
    switch (e.type) {
      case "dir":
        if (!lstatOr(path)) mkdirSync(path, { mode: 0o700 });
        if (opaque) lsetxattr(path, "user.overlay.opaque", new Uint8Array([0x79]));
        chmodSync(path, e.mode);
        dirTimes.push([path, e.mtime]);
        break;
      case "file": {
        const fd = openSync(path, "w", 0o600);
        try {
          for await (const chunk of e.data()) for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
        } finally {
          closeSync(fd);
        }
        chmodSync(path, e.mode);
        break;
      }
      case "symlink":
        symlinkSync(e.linkpath, path);
        break;
      case "hardlink": {
        const target = mapName(e.linkpath);
        if (target === undefined || target === "") throw new CtrError(`tar entry "${e.path}" links outside the copy`, { kind: "invalid" });
        linkSync(join(dir, target), path);
        break;
      }
      case "char":
      case "block":
      case "fifo":
        try {
          mknod(path, (e.type === "char" ? S_IFCHR : e.type === "block" ? S_IFBLK : S_IFIFO) | e.mode, e.devmajor, e.devminor);
        } catch (err) {
          opts.log(`WARN: skipping "${e.path}": ${errorText(err)}`);
          continue;
        }
        break;
    }
    if (opts.chown) {
      try {
        lchownSync(path, e.uid, e.gid);
      } catch (err) {
        throw new CtrError(`cannot keep the owner of "${e.path}" (${e.uid}:${e.gid}): ${errorText(err)}`);
      }
    }
    if (e.type !== "dir") lutimens(path, e.mtime, e.mtime);
  }
  // Directory times last: writing into a directory changes its mtime.
  for (const [path, t] of dirTimes.reverse()) lutimens(path, t, t);
}

/** Copies host `src` (`-`: a tar from stdin) into the container at `destPath`. */
export async function copyToContainer(rec: ContainerRecord, src: string, destPath: string, opts: CopyOptions, stdin?: ReadableStream<Uint8Array>): Promise<void> {
  let srcIsDir = true;
  let contents = false;
  let name = ".";
  let tar: ReadableStream<Uint8Array>;
  if (src === "-") {
    tar = stdin!;
  } else {
    const abs = resolve(src);
    const st = lstatOr(abs);
    if (!st) throw new CtrError(`could not find "${src}" on the host`, { kind: "not-found" });
    srcIsDir = st.isDirectory();
    contents = /\/\.$/.test(src);
    name = basename(abs) || ".";
    const hostRel = basename(abs);
    const view = new MergedView([dirname(abs)]);
    // Without -a the copy belongs to the container's root, as in docker. With
    // -a, owners are the ids the container sees: inside the container's user
    // namespace (a stopped container) they already are; from outside, the
    // container's maps turn host ids into them (the user's own files are root's).
    const owners = !opts.archive ? { owner: { uid: 0, gid: 0 } } : containerIdMaps(rec);
    tar = tarStream((tw) => writeTree(tw, renamed(view.walk(hostRel), hostRel), { ...owners, prefix: name }));
  }
  // Running: written through the mounted tree (overlayfs does the copy-up); stopped: into the upper dir.
  const live = isRunning(rec) ? liveRoot(rec) : undefined;
  const view = live ? new MergedView([live]) : containerView(rec);
  // A symlink to a directory is followed as the container would follow it.
  const destRel = view.resolve(containerRel(destPath), true);
  if (destRel === undefined) throw new CtrError(`too many levels of symbolic links in "${destPath}" in container ${rec.name}`, { kind: "invalid" });
  const destNode = view.lookup(destRel);
  if (!destNode && destPath.endsWith("/")) throw new CtrError(`destination directory "${destPath}" does not exist in container ${rec.name}`, { kind: "not-found" });
  let parentRel: string;
  let as: string;
  if (destNode?.st.isDirectory()) [parentRel, as] = [destRel, contents || src === "-" ? "" : name];
  else {
    if (destNode && srcIsDir) throw new CtrError(`cannot copy a directory to "${destPath}": it is not a directory`, { kind: "invalid" });
    parentRel = destRel.includes("/") ? posix.dirname(destRel) : "";
    if (!view.lookup(parentRel)?.st.isDirectory()) throw new CtrError(`destination "/${parentRel}" is not a directory in container ${rec.name}`, { kind: "not-found" });
    as = posix.basename(destRel);
  }
  if (!live) copyUp(view, rec.rootfs.upperDir, parentRel);
  await extractTo(tar, join(live ?? rec.rootfs.upperDir, parentRel), { top: name, as, chown: opts.archive && (inContainerUserns() || process.getuid?.() === 0), log: opts.log, upper: !live });
}

/** Makes each directory of `rel` exist in the upper dir as it looks in the merged view, as overlayfs's copy-up would. */
function copyUp(view: MergedView, upperDir: string, rel: string): void {
  let at = "";
  for (const part of rel.split("/").filter(Boolean)) {
    at = at === "" ? part : `${at}/${part}`;
    const upper = join(upperDir, at);
    if (lstatOr(upper)?.isDirectory()) continue;
    const node = view.lookup(at);
    if (!node?.st.isDirectory()) throw new CtrError(`"/${at}" is not a directory in the container`, { kind: "invalid" });
    mkdirSync(upper, { mode: node.st.mode & 0o7777 });
    chmodSync(upper, node.st.mode & 0o7777);
    lutimens(upper, { sec: Math.floor(node.st.mtimeMs / 1000), nsec: 0 }, { sec: Math.floor(node.st.mtimeMs / 1000), nsec: 0 });
  }
}

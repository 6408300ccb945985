/**
 * Writes one layer's tar into its own directory in overlayfs lower-dir
 * format, hashing the tar on the way to give its DiffID.
 *
 * Each image layer becomes a separate overlay lower dir, so a layer's
 * directory holds only that layer's own changes: OCI whiteouts become what
 * overlayfs reads, `.wh.<name>` a character device 0/0 named `<name>` and
 * `.wh..wh..opq` the xattr `user.overlay.opaque=y` on its directory (the
 * `user.` namespace because a rootless overlay is mounted with `userxattr`,
 * and fuse-overlayfs reads the same). An unprivileged user may create a
 * 0/0 character device since Linux 5.8.
 *
 * Layers are hostile input. Entry names are made relative and may not
 * climb out with `..`; no entry is ever written through a symlink (every
 * parent must be a real directory, checked with lstat and remembered for the
 * rest of the layer); hardlink targets must lie inside the layer. A
 * symlink's target is only data and may point anywhere.
 *
 * Contract: the caller gives a directory that nothing else writes to while
 * the layer is applied (the checks above rely on that), unpacks into a
 * temporary directory and renames it into place on success. On any error
 * applyLayer throws and removes nothing: the caller deletes the directory.
 *
 * Names keep their exact bytes (some images carry names that are not UTF-8):
 * inside this module a path is a latin1 string, one char per byte, handed to
 * fs as a Buffer.
 */
import { chmodSync, closeSync, constants, fchmodSync, fchownSync, lchownSync, linkSync, lstatSync, mkdirSync, openSync, rmSync, statSync, symlinkSync, unlinkSync, writeSync, type Stats } from "node:fs";
import { resolve } from "node:path";
import { CtrError, errorText } from "../../errors.ts";
import { ErrnoError, futimens, lsetxattr, lutimens, mknod, S_IFBLK, S_IFCHR, S_IFIFO, type Timespec } from "../../host/libc.ts";
import { readTar, type ByteSource, type TarEntry } from "./tar-reader.ts";

export interface ApplyLayerOptions {
  /** The layer's digest, for messages: `invalid layer sha256:…: …`. */
  name?: string;
  /**
   * Give entries the owners the tar records. Only for running as root of a
   * user namespace; by default every file stays owned by the current user,
   * who is root inside a rootless container.
   */
  chown?: boolean;
  /** Hash the tar for its DiffID (the default); false when the caller has its sum (decompressLayerSummed), and `diffId` is "". */
  hash?: boolean;
}

export interface ApplyLayerResult {
  /** `sha256:<hex>` of the uncompressed tar, every byte of it ("" with `hash: false`). */
  diffId: string;
  /** Bytes in the uncompressed tar. */
  size: number;
  /** What was left out and why, e.g. device nodes a rootless user cannot create. */
  skipped: string[];
}

/**
 * Applies the layer tar `tar` to `destDir`, an existing directory.
 *
 * @param tar the uncompressed layer (see `decompressLayer`)
 * @param destDir this layer's own directory, written by no one else meanwhile
 * @returns the DiffID and size of the tar, and notes on what was skipped
 * @throws CtrError (kind "invalid") for a malformed or hostile tar, naming
 *   the entry; CtrError for a failed write. Nothing is cleaned up.
 * @example
 * const { diffId } = await applyLayer(decompressLayer(blob, desc.mediaType), tmpDir, { name: desc.digest });
 */
export async function applyLayer(tar: ByteSource, destDir: string, opts: ApplyLayerOptions = {}): Promise<ApplyLayerResult> {
  const layer = opts.name ? `layer ${opts.name}` : "layer";
  const root = resolve(destDir);
  const rootSt = statSync(root, { throwIfNoEntry: false });
  if (!rootSt?.isDirectory()) {
    throw new CtrError(`cannot unpack ${layer}: "${root}" is not a directory`);
  }
  const hasher = opts.hash === false ? undefined : new Bun.CryptoHasher("sha256");
  const counted = { size: 0 };
  const writer = new LayerWriter(root, layer, opts.chown === true, (rootSt.mode & S_ISGID) !== 0);
  for await (const entry of readTar(hashing(tar, hasher, counted), { label: layer })) {
    try {
      const pending = writer.apply(entry);
      if (pending) await pending;
    } catch (err) {
      if (err instanceof CtrError) throw err;
      throw new CtrError(`cannot unpack ${layer}: entry ${quote(entry.path)}: ${errorText(err)}`, { cause: err });
    }
  }
  try {
    writer.finish();
  } catch (err) {
    throw new CtrError(`cannot unpack ${layer}: ${errorText(err)}`, { cause: err });
  }
  return { diffId: hasher ? `sha256:${hasher.digest("hex")}` : "", size: counted.size, skipped: writer.skipped };
}

async function* hashing(source: ByteSource, hasher: Bun.CryptoHasher | undefined, counted: { size: number }): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    hasher?.update(chunk);
    counted.size += chunk.length;
    yield chunk;
  }
}

const OPAQUE_XATTR = "user.overlay.opaque";
const OPAQUE = new Uint8Array([0x79]); // "y"
const WHITEOUT_PREFIX = ".wh.";
const WHITEOUT_META_PREFIX = ".wh..wh.";
const OPAQUE_MARKER = ".wh..wh..opq";
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
const EMPTY = new Uint8Array(0);
const S_ISGID = 0o2000;

/** A directory's metadata, applied once the whole layer is written (content changes a directory's mtime; a read-only mode would block writing into it). */
interface DirMeta {
  mode: number;
  atime: Timespec;
  mtime: Timespec;
}

/** The per-layer state: directories known to be real, directory metadata to apply last, notes. */
class LayerWriter {
  readonly skipped: string[] = [];
  /** Relative paths (latin1) known to be real directories made or checked in this run. */
  private readonly dirs = new Set<string>();
  private readonly dirMeta = new Map<string, DirMeta>();
  private readonly prefix: string;
  private readonly rootLatin1: string;
  private readonly umask: number;
  /**
   * Who owns what we create: our euid, and our egid unless the layer
   * directory is setgid (then new entries take its group). An entry we
   * create that the tar gives these owners needs no chown (most of a layer
   * is root's, and we are root of the user namespace); -1 when not chowning.
   */
  private readonly ownUid: number;
  private readonly ownGid: number;

  constructor(
    root: string,
    private readonly layer: string,
    private readonly chown: boolean,
    rootSetgid: boolean,
  ) {
    this.rootLatin1 = Buffer.from(root, "utf8").toString("latin1");
    this.prefix = this.rootLatin1 === "/" ? "/" : `${this.rootLatin1}/`;
    this.umask = process.umask();
    this.ownUid = chown ? process.geteuid!() : -1;
    this.ownGid = chown && !rootSetgid ? process.getegid!() : -1;
  }

  /** Whether `entry`'s owners must be set; `created` when we just made it (owned by us, see ownUid). */
  private needsChown(entry: TarEntry, created: boolean): boolean {
    return this.chown && !(created && entry.uid === this.ownUid && entry.gid === this.ownGid);
  }

  /** Returns a promise only for a file whose data is still to come. */
  apply(entry: TarEntry): void | Promise<void> {
    const raw = latin1(entry.pathBytes);
    if (raw.includes("\0")) throw this.invalid(`entry ${quote(entry.path)} has a NUL byte in its name`);
    const rel = normalize(raw);
    if (rel === undefined) throw this.invalid(`entry ${quote(entry.path)} escapes the layer`);
    const slash = rel.lastIndexOf("/");
    const base = rel.slice(slash + 1);
    if (base.startsWith(WHITEOUT_PREFIX)) return this.whiteout(entry, rel, slash, base);
    if (entry.pax.size > 0 && [...entry.pax.keys()].some((k) => k.startsWith("GNU.sparse."))) {
      this.note(`${quote(entry.path)}: sparse file not unpacked (GNU sparse archives are not supported)`);
      return;
    }
    if (rel === "") return this.rootEntry(entry);
    switch (entry.type) {
      case "file":
        return this.file(entry, rel);
      case "dir":
        return this.dir(entry, rel);
      case "symlink":
        return this.symlink(entry, rel);
      case "hardlink":
        return this.hardlink(entry, rel);
      case "fifo":
        return this.node(entry, rel, S_IFIFO);
      case "char":
        return this.node(entry, rel, S_IFCHR);
      case "block":
        return this.node(entry, rel, S_IFBLK);
      default:
        this.note(`${quote(entry.path)}: entry of unsupported type "${printable(entry.typeflag)}" skipped`);
    }
  }

  /** Sets the kept directory metadata, deepest first: changing a mode needs search permission on the parents. */
  finish(): void {
    const dirs = [...this.dirMeta].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, meta] of dirs) {
      chmodSync(this.abs(rel), meta.mode);
      lutimens(this.abs(rel), meta.atime, meta.mtime);
    }
  }

  /** Returns a promise only when the data must be waited for: most files are in memory already and cost no promise. */
  private file(entry: TarEntry, rel: string): void | Promise<void> {
    this.parents(rel, entry);
    const abs = this.abs(rel);
    let fd: number;
    try {
      fd = openSync(abs, CREATE_FLAGS, entry.mode & 0o777);
    } catch (err) {
      if (code(err) !== "EEXIST") throw err;
      this.remove(rel, abs);
      fd = openSync(abs, CREATE_FLAGS, entry.mode & 0o777);
    }
    let whole: Uint8Array | undefined;
    try {
      whole = entry.size === 0 ? EMPTY : entry.dataBuffered();
      if (whole) {
        writeAll(fd, whole);
        this.finishFile(entry, abs, fd);
      }
    } finally {
      if (whole) closeSync(fd);
    }
    if (!whole) return this.fileStreamed(entry, abs, fd);
  }

  private async fileStreamed(entry: TarEntry, abs: Buffer, fd: number): Promise<void> {
    try {
      for await (const chunk of entry.data()) writeAll(fd, chunk);
      this.finishFile(entry, abs, fd);
    } finally {
      closeSync(fd);
    }
  }

  /** chown, saying which id the user namespace lacks: EINVAL means an id outside its maps. */
  private own(entry: TarEntry, chown: () => void): void {
    try {
      chown();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EINVAL") throw err;
      throw new CtrError(
        `${this.layer}: entry ${quote(entry.path)} is owned by ${entry.uid}:${entry.gid}, which the user namespace does not map: widen the user's ranges in /etc/subuid and /etc/subgid to cover it (usermod --add-subuids/--add-subgids)`,
        { kind: "invalid", cause: err },
      );
    }
  }

  private finishFile(entry: TarEntry, abs: Buffer, fd: number): void {
    // chown clears setuid and setgid, so the mode comes after it; writing and chown clear security.capability, so xattrs come after both.
    if (this.needsChown(entry, true)) this.own(entry, () => fchownSync(fd, entry.uid, entry.gid));
    if (this.needsChmod(entry.mode)) fchmodSync(fd, entry.mode);
    this.xattrs(entry, abs);
    futimens(fd, entry.atime ?? entry.mtime, entry.mtime);
  }

  private dir(entry: TarEntry, rel: string): void {
    this.parents(rel, entry);
    const abs = this.abs(rel);
    // Owner rwx until the end, so that a read-only directory can still be filled.
    const createMode = (entry.mode & 0o777) | 0o700;
    let opaque = false;
    let created = true;
    try {
      mkdirSync(abs, createMode);
    } catch (err) {
      if (code(err) !== "EEXIST") throw err;
      created = false;
      const st = lstatSync(abs);
      // A directory over a directory merges, as tar does; anything else is replaced.
      if (!st.isDirectory()) {
        // A directory that replaces a whiteout of this layer hides the lower layers' directory: overlay needs it opaque.
        opaque = isWhiteout(st);
        unlinkSync(abs);
        mkdirSync(abs, createMode);
        created = true;
      }
    }
    this.dirs.add(rel);
    if (opaque) lsetxattr(abs, OPAQUE_XATTR, OPAQUE);
    if (this.needsChown(entry, created)) this.own(entry, () => lchownSync(abs, entry.uid, entry.gid));
    this.xattrs(entry, abs);
    this.dirMeta.set(rel, { mode: entry.mode, atime: entry.atime ?? entry.mtime, mtime: entry.mtime });
  }

  /** "./" in the tar: the layer directory itself. */
  private rootEntry(entry: TarEntry): void {
    if (entry.type !== "dir") throw this.invalid(`entry ${quote(entry.path)} is the layer root but not a directory`);
    const abs = this.abs("");
    if (this.needsChown(entry, false)) this.own(entry, () => lchownSync(abs, entry.uid, entry.gid));
    this.xattrs(entry, abs);
    this.dirMeta.set("", { mode: entry.mode, atime: entry.atime ?? entry.mtime, mtime: entry.mtime });
  }

  private symlink(entry: TarEntry, rel: string): void {
    if (entry.linkpathBytes.includes(0)) throw this.invalid(`symlink ${quote(entry.path)} has a NUL byte in its target`);
    this.parents(rel, entry);
    const abs = this.abs(rel);
    const target = Buffer.from(entry.linkpathBytes);
    try {
      symlinkSync(target, abs);
    } catch (err) {
      if (code(err) !== "EEXIST") throw err;
      this.remove(rel, abs);
      symlinkSync(target, abs);
    }
    if (this.needsChown(entry, true)) this.own(entry, () => lchownSync(abs, entry.uid, entry.gid));
    this.xattrs(entry, abs);
    lutimens(abs, entry.atime ?? entry.mtime, entry.mtime);
  }

  /** A hardlink shares its target's inode and so its metadata: the link entry's own mode, owner and times are not applied. */
  private hardlink(entry: TarEntry, rel: string): void {
    const rawTarget = latin1(entry.linkpathBytes);
    const what = `hardlink ${quote(entry.path)} to ${quote(entry.linkpath)}`;
    if (rawTarget.includes("\0")) throw this.invalid(`${what} has a NUL byte in its target`);
    const target = normalize(rawTarget);
    if (target === undefined) throw this.invalid(`${what} escapes the layer`);
    if (target === "") throw this.invalid(`${what} points at the layer root`);
    const slash = target.lastIndexOf("/");
    if (slash >= 0 && !this.ensureDir(target.slice(0, slash), what, false)) throw this.invalid(`${what} points at a file not in the layer`);
    const targetAbs = this.abs(target);
    const st = lstatSync(targetAbs, { throwIfNoEntry: false });
    if (!st) throw this.invalid(`${what} points at a file not in the layer`);
    if (st.isDirectory()) throw this.invalid(`${what} points at a directory`);
    if (target === rel) return;
    this.parents(rel, entry);
    const abs = this.abs(rel);
    try {
      linkSync(targetAbs, abs);
    } catch (err) {
      if (code(err) !== "EEXIST") throw err;
      this.remove(rel, abs);
      linkSync(targetAbs, abs);
    }
  }

  /** Fifos and device nodes. Devices need privilege: a rootless unpack leaves them out with a note, as podman does. */
  private node(entry: TarEntry, rel: string, type: number): void {
    this.parents(rel, entry);
    const abs = this.abs(rel);
    const make = () => mknod(abs, type | (entry.mode & 0o777), entry.devmajor, entry.devminor);
    try {
      try {
        make();
      } catch (err) {
        if (code(err) !== "EEXIST") throw err;
        this.remove(rel, abs);
        make();
      }
    } catch (err) {
      if (type === S_IFIFO || code(err) !== "EPERM") throw err;
      const kind = type === S_IFCHR ? "character" : "block";
      this.note(`${quote(entry.path)}: ${kind} device ${entry.devmajor}:${entry.devminor} not created (needs privilege)`);
      return;
    }
    if (this.needsChown(entry, true)) this.own(entry, () => lchownSync(abs, entry.uid, entry.gid));
    if (this.needsChmod(entry.mode)) chmodSync(abs, entry.mode);
    this.xattrs(entry, abs);
    lutimens(abs, entry.atime ?? entry.mtime, entry.mtime);
  }

  private whiteout(entry: TarEntry, rel: string, slash: number, base: string): void {
    const dir = slash < 0 ? "" : rel.slice(0, slash);
    this.parents(rel, entry);
    if (base === OPAQUE_MARKER) {
      lsetxattr(this.abs(dir), OPAQUE_XATTR, OPAQUE);
      return;
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) {
      // aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): never part of the image's files.
      this.note(`${quote(entry.path)}: aufs metadata skipped`);
      return;
    }
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === "" || name === "." || name === "..") throw this.invalid(`whiteout ${quote(entry.path)} names no file`);
    try {
      mknod(this.abs(dir === "" ? name : `${dir}/${name}`), S_IFCHR, 0, 0);
    } catch (err) {
      // A whiteout hides only lower layers' files: one this layer already wrote stays (image-spec layer.md, "Whiteouts").
      if (code(err) !== "EEXIST") throw err;
    }
  }

  /** Sets the entry's xattrs; those the filesystem refuses (privileged namespaces, symlinks) become notes. */
  private xattrs(entry: TarEntry, abs: Buffer): void {
    if (entry.xattrs.size === 0) return;
    for (const [name, value] of entry.xattrs) {
      // Overlay's own xattrs would let a layer forge whiteouts, redirects or metacopy: only whiteout files may say that.
      if (name.startsWith("user.overlay.") || name.startsWith("trusted.overlay.") || name === "" || name.includes("\0")) {
        this.note(`${quote(entry.path)}: xattr ${quote(name)} not set (reserved)`);
        continue;
      }
      try {
        lsetxattr(abs, name, value);
      } catch (err) {
        if (!(err instanceof ErrnoError)) throw err;
        this.note(`${quote(entry.path)}: xattr ${quote(name)} not set (${err.code})`);
      }
    }
  }

  /** Makes every parent of `rel` a real directory: creates missing ones, refuses symlinks and files. */
  private parents(rel: string, entry: TarEntry): void {
    const slash = rel.lastIndexOf("/");
    if (slash < 0) return;
    const parent = rel.slice(0, slash);
    if (this.dirs.has(parent)) return;
    this.ensureDir(parent, `entry ${quote(entry.path)}`, true);
  }

  /**
   * Checks (and with `create`, makes) `dir` and its parents real directories;
   * false if one is missing and not created. `subject` names the entry, or the
   * hardlink whose target this is, in messages.
   */
  private ensureDir(dir: string, subject: string, create: boolean): boolean {
    let i = -1;
    do {
      i = dir.indexOf("/", i + 1);
      const p = i < 0 ? dir : dir.slice(0, i);
      if (this.dirs.has(p)) continue;
      const abs = this.abs(p);
      const st = lstatSync(abs, { throwIfNoEntry: false });
      if (!st || (create && isWhiteout(st))) {
        if (!create) return false;
        // Under a whiteout of this layer, the directory is new: it must hide the lower layers' one.
        if (st) unlinkSync(abs);
        // A directory the tar implies but does not list gets the usual 0755, whatever our umask.
        mkdirSync(abs, 0o755);
        if ((this.umask & 0o755) !== 0) chmodSync(abs, 0o755);
        if (st) lsetxattr(abs, OPAQUE_XATTR, OPAQUE);
      } else if (st.isSymbolicLink()) {
        throw this.invalid(`${subject} ${create ? "would be written" : "goes"} through the symlink ${quote(display(p))}`);
      } else if (!st.isDirectory()) {
        throw this.invalid(`${subject} has ${quote(display(p))} in its path, which is not a directory`);
      }
      this.dirs.add(p);
    } while (i >= 0);
    return true;
  }

  /** Removes what is at `rel` so that an entry can take its place; a directory goes with its content. */
  private remove(rel: string, abs: Buffer): void {
    const st = lstatSync(abs);
    if (!st.isDirectory()) return unlinkSync(abs);
    rmSync(abs, { recursive: true, force: true });
    this.forget(rel);
  }

  /** Drops what we knew about directory `rel` and everything below it, once it is gone. */
  private forget(rel: string): void {
    const below = `${rel}/`;
    this.dirs.delete(rel);
    this.dirMeta.delete(rel);
    for (const d of this.dirs) if (d.startsWith(below)) this.dirs.delete(d);
    for (const d of this.dirMeta.keys()) if (d.startsWith(below)) this.dirMeta.delete(d);
  }

  private needsChmod(mode: number): boolean {
    return (mode & ~0o777) !== 0 || (mode & this.umask) !== 0;
  }

  private abs(rel: string): Buffer {
    return Buffer.from(rel === "" ? this.rootLatin1 : this.prefix + rel, "latin1");
  }

  private note(text: string): void {
    this.skipped.push(text);
  }

  private invalid(what: string): CtrError {
    return new CtrError(`invalid ${this.layer}: ${what}`, { kind: "invalid" });
  }
}

/** Names that `normalize` must take apart: an empty, "." or ".." component, or a leading or trailing slash. */
const NEEDS_CLEANING = /(^|\/)\.{0,2}(\/|$)/;

/** The entry name made relative, with "." and ".." resolved; undefined if ".." climbs above the layer root. */
function normalize(raw: string): string | undefined {
  if (!NEEDS_CLEANING.test(raw)) return raw;
  const out: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(part);
  }
  return out.join("/");
}

function writeAll(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function depth(rel: string): number {
  if (rel === "") return -1;
  let n = 0;
  for (let i = rel.indexOf("/"); i >= 0; i = rel.indexOf("/", i + 1)) n++;
  return n;
}

/** One char per byte; entry names are short, and building the string directly beats making a Buffer view. */
function latin1(b: Uint8Array): string {
  if (b.length <= 1024) return String.fromCharCode.apply(null, b as unknown as number[]);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}

function display(rel: string): string {
  return Buffer.from(rel, "latin1").toString("utf8");
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function printable(flag: string): string {
  const c = flag.charCodeAt(0);
  return c >= 0x20 && c < 0x7f ? flag : `\\x${c.toString(16).padStart(2, "0")}`;
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

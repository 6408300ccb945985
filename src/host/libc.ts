/**
 * The few libc calls that Node's fs lacks, through bun:ffi: `mknod` (fifos,
 * device nodes and overlayfs whiteouts), the no-follow xattr calls, and
 * `utimensat`/`futimens` for exact nanosecond times on any file type.
 *
 * Bun's `fs.utimesSync` family takes seconds as a double, which loses the
 * last digits of a nanosecond timestamp and turns times before 1970 into
 * "now", so layer unpacking sets times here instead.
 *
 * The library is opened on the first call, so commands that never unpack a
 * layer pay nothing. Failures throw `ErrnoError`, shaped like Node's errno
 * errors (`code` is the errno name), so `errorText` and callers that branch
 * on `code` treat both alike. Verified to work inside a binary compiled with
 * `bun build --compile --minify --bytecode --format=esm`.
 */
import { CString, dlopen, FFIType, read, type Pointer } from "bun:ffi";
import { constants } from "node:os";
import { CtrError } from "../errors.ts";

/** A path as a string (encoded as UTF-8) or as exact bytes, without the final NUL. */
export type CPath = string | Uint8Array;

/** A point in time as the kernel keeps it: seconds (may be negative) and nanoseconds 0..999999999. */
export interface Timespec {
  sec: number;
  nsec: number;
}

export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const ENODATA = 61;

/** An errno failure of a libc call, shaped like Node's fs errors. */
export class ErrnoError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path?: string;

  constructor(syscall: string, errno: number, path?: string) {
    const code = errnoName(errno);
    super(`${code}: ${strerror(errno)}, ${syscall}${path === undefined ? "" : ` '${path}'`}`);
    this.name = "ErrnoError";
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.path = path;
  }
}

/** Creates a fifo or device node at `path`, not following a symlink there; `mode` includes the S_IF* type bits. */
export function mknod(path: CPath, mode: number, major = 0, minor = 0): void {
  const lib = libc();
  const c = cPath(path);
  const rc = lib.mknod(c, mode, makedev(major, minor));
  if (rc !== 0) throw new ErrnoError("mknod", lib.errno(), display(path));
}

/** Sets extended attribute `name` on `path` itself (never a symlink's target). */
export function lsetxattr(path: CPath, name: string, value: Uint8Array): void {
  const lib = libc();
  // An empty buffer has no address for FFI to pass; the kernel reads nothing when size is 0.
  const buf = value.length === 0 ? ONE_BYTE : value;
  const rc = lib.symbols.lsetxattr(cPath(path), cString(name), buf, value.length, 0);
  if (rc !== 0) throw new ErrnoError("lsetxattr", lib.errno(), display(path));
}

/** Reads extended attribute `name` of `path` itself; undefined when it is not set. */
export function lgetxattr(path: CPath, name: string): Uint8Array | undefined {
  const lib = libc();
  const c = cPath(path);
  const n = cString(name);
  for (;;) {
    const size = Number(lib.symbols.lgetxattr(c, n, null, 0));
    if (size < 0) return missingOrThrow(lib, "lgetxattr", path);
    const buf = new Uint8Array(Math.max(size, 1));
    const got = Number(lib.symbols.lgetxattr(c, n, buf, buf.length));
    if (got >= 0) return buf.slice(0, got);
    // ERANGE: the value grew between the two calls; ask again.
    if (lib.errno() !== 34) return missingOrThrow(lib, "lgetxattr", path);
  }
}

/** Names of the extended attributes of `path` itself. */
export function llistxattr(path: CPath): string[] {
  const lib = libc();
  const c = cPath(path);
  for (;;) {
    const size = Number(lib.symbols.llistxattr(c, null, 0));
    if (size < 0) throw new ErrnoError("llistxattr", lib.errno(), display(path));
    if (size === 0) return [];
    const buf = new Uint8Array(size);
    const got = Number(lib.symbols.llistxattr(c, buf, size));
    if (got >= 0) return new TextDecoder().decode(buf.subarray(0, got)).split("\0").filter((s) => s !== "");
    if (lib.errno() !== 34) throw new ErrnoError("llistxattr", lib.errno(), display(path));
  }
}

/** Sets access and modification times of `path` itself, never following a symlink. */
export function lutimens(path: CPath, atime: Timespec, mtime: Timespec): void {
  const lib = libc();
  const rc = lib.symbols.utimensat(AT_FDCWD, cPath(path), timespecs(atime, mtime), AT_SYMLINK_NOFOLLOW);
  if (rc !== 0) throw new ErrnoError("utimensat", lib.errno(), display(path));
}

/** Sets access and modification times of an open file. */
export function futimens(fd: number, atime: Timespec, mtime: Timespec): void {
  const lib = libc();
  const rc = lib.symbols.futimens(fd, timespecs(atime, mtime));
  if (rc !== 0) throw new ErrnoError("futimens", lib.errno());
}

/** The errno name for a number, e.g. 1 is "EPERM". */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));
const ONE_BYTE = new Uint8Array(1);
// Reused for every time call: calls are synchronous, so no two can share it at once.
const TIMES = new BigInt64Array(4);

function timespecs(atime: Timespec, mtime: Timespec): BigInt64Array {
  TIMES[0] = BigInt(atime.sec);
  TIMES[1] = BigInt(atime.nsec);
  TIMES[2] = BigInt(mtime.sec);
  TIMES[3] = BigInt(mtime.nsec);
  return TIMES;
}

function missingOrThrow(lib: Libc, syscall: string, path: CPath): undefined {
  const errno = lib.errno();
  if (errno === ENODATA) return undefined;
  throw new ErrnoError(syscall, errno, display(path));
}

/** glibc's dev_t layout (gnu_dev_makedev): 12+20 bits of major, 8+24 bits of minor. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

function cString(s: string): Uint8Array {
  return Buffer.from(s + "\0", "utf8");
}

function cPath(path: CPath): Uint8Array {
  if (typeof path === "string") return cString(path);
  const out = new Uint8Array(path.length + 1);
  out.set(path);
  return out;
}

function display(path: CPath): string {
  return typeof path === "string" ? path : Buffer.from(path).toString("utf8");
}

function strerror(errno: number): string {
  const p = libc().symbols.strerror(errno);
  return p ? new CString(p).toString() : `errno ${errno}`;
}

const SYMBOLS = {
  lsetxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  lgetxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  llistxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  utimensat: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  futimens: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  strerror: { args: [FFIType.i32], returns: FFIType.ptr },
  __errno_location: { args: [], returns: FFIType.ptr },
} as const;

interface Libc {
  symbols: ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];
  mknod(path: Uint8Array, mode: number, dev: bigint): number;
  errno(): number;
}

let loaded: Libc | undefined;

function libc(): Libc {
  return (loaded ??= load());
}

function load(): Libc {
  const failures: string[] = [];
  for (const name of libraryNames()) {
    let symbols: Libc["symbols"];
    try {
      symbols = dlopen(name, SYMBOLS).symbols;
    } catch (err) {
      failures.push(`"${name}": ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    const errnoPtr = symbols.__errno_location() as Pointer;
    return { symbols, mknod: loadMknod(name), errno: () => read.i32(errnoPtr, 0) };
  }
  throw new CtrError(`cannot load the C library: ${failures.join("; ")}`);
}

function libraryNames(): string[] {
  const arch = process.arch === "x64" ? "x86_64" : process.arch === "arm64" ? "aarch64" : process.arch;
  return ["libc.so.6", `libc.musl-${arch}.so.1`];
}

/** glibc exports `mknod` only since 2.33; before that it is `__xmknod` with a version argument (0 on Linux). */
function loadMknod(name: string): Libc["mknod"] {
  try {
    const { symbols } = dlopen(name, { mknod: { args: [FFIType.ptr, FFIType.u32, FFIType.u64], returns: FFIType.i32 } });
    return (path, mode, dev) => symbols.mknod(path, mode, dev);
  } catch {
    const { symbols } = dlopen(name, { __xmknod: { args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.ptr], returns: FFIType.i32 } });
    const devBuf = new BigUint64Array(1);
    return (path, mode, dev) => {
      devBuf[0] = dev;
      return symbols.__xmknod(0, path, mode, devBuf);
    };
  }
}

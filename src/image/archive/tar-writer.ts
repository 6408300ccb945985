/**
 * A small streaming tar writer for image archives (`save`): directories and
 * regular files, ustar headers, a PAX `path` record when a name does not fit
 * ustar's 100+155 bytes. File data streams through; only headers are built
 * in memory. Owners are 0, mtimes fixed, so the same images give the same
 * archive bytes. `addEntry` writes any entry type with owners, times, link
 * targets and xattrs, for layer tars (`commit`, `export`).
 */
import { CtrError } from "../../errors.ts";

const BLOCK = 512;
const enc = new TextEncoder();
/** Largest value a 7-digit octal uid/gid field holds; above it a PAX record carries the id. */
const MAX_OCTAL_ID = 0o7777777;

/** One entry of any type, for layer tars (owners, modes, times, links, devices, xattrs). */
export interface TarHeader {
  name: string;
  type: "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";
  mode: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch. */
  mtime?: number;
  /** Target of a symlink or hardlink. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Regular files: bytes of data that follow. */
  size?: number;
  /** Written as `SCHILY.xattr.<name>` PAX records, values as exact bytes. */
  xattrs?: Map<string, Uint8Array>;
}

const TYPEFLAG: Record<TarHeader["type"], string> = { file: "0", hardlink: "1", symlink: "2", char: "3", block: "4", dir: "5", fifo: "6" };

export type TarSink = (chunk: Uint8Array) => void | Promise<void>;

export class TarWriter {
  private written = 0;

  constructor(private readonly sink: TarSink) {}

  async addDir(name: string): Promise<void> {
    await this.header(name.endsWith("/") ? name : `${name}/`, 0, "5", 0o755);
  }

  /** Adds a regular file of exactly `size` bytes; `data` must deliver that many. */
  async addFile(name: string, data: Uint8Array | ReadableStream<Uint8Array>, size = data instanceof Uint8Array ? data.length : -1): Promise<void> {
    if (size < 0) throw new CtrError(`tar entry "${name}": size unknown`, { kind: "internal" });
    await this.header(name, size, "0", 0o644);
    let n = 0;
    if (data instanceof Uint8Array) {
      await this.emit(data);
      n = data.length;
    } else {
      for await (const chunk of data) {
        n += chunk.length;
        if (n > size) throw new CtrError(`tar entry "${name}": data is longer than ${size} bytes`, { kind: "internal" });
        await this.emit(chunk);
      }
    }
    if (n !== size) throw new CtrError(`tar entry "${name}": got ${n} bytes of data, expected ${size}`, { kind: "internal" });
    await this.pad();
  }

  /** Adds an entry of any type; a regular file's `data` must deliver `h.size` bytes. */
  async addEntry(h: TarHeader, data?: Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
    const size = h.type === "file" ? (h.size ?? (data instanceof Uint8Array ? data.length : 0)) : 0;
    const name = h.type === "dir" && !h.name.endsWith("/") ? `${h.name}/` : h.name;
    const fields: HeaderFields = {
      size,
      typeflag: TYPEFLAG[h.type],
      mode: h.mode & 0o7777,
      uid: h.uid ?? 0,
      gid: h.gid ?? 0,
      mtime: Math.max(0, Math.floor(h.mtime ?? 0)),
      linkname: h.linkname ?? "",
      devmajor: h.devmajor ?? 0,
      devminor: h.devminor ?? 0,
    };
    const pax: Uint8Array[] = [];
    if (enc.encode(fields.linkname).length > 100) pax.push(paxRecord("linkpath", fields.linkname));
    if (fields.uid > MAX_OCTAL_ID) pax.push(paxRecord("uid", String(fields.uid)));
    if (fields.gid > MAX_OCTAL_ID) pax.push(paxRecord("gid", String(fields.gid)));
    for (const [k, v] of h.xattrs ?? []) pax.push(paxRecordBytes(`SCHILY.xattr.${k}`, v));
    await this.header(name, size, fields.typeflag, fields.mode, fields, pax);
    if (h.type !== "file") return;
    let n = 0;
    if (data instanceof Uint8Array) {
      await this.emit(data);
      n = data.length;
    } else if (data) {
      for await (const chunk of data) {
        n += chunk.length;
        if (n > size) throw new CtrError(`tar entry "${name}": data is longer than ${size} bytes`, { kind: "internal" });
        await this.emit(chunk);
      }
    }
    if (n !== size) throw new CtrError(`tar entry "${name}": got ${n} bytes of data, expected ${size}`, { kind: "internal" });
    await this.pad();
  }

  /** Two zero blocks end the archive. */
  async finish(): Promise<void> {
    await this.emit(new Uint8Array(BLOCK * 2));
  }

  private async pad(): Promise<void> {
    const rest = this.written % BLOCK;
    if (rest) await this.emit(new Uint8Array(BLOCK - rest));
  }

  private async emit(chunk: Uint8Array): Promise<void> {
    this.written += chunk.length;
    await this.sink(chunk);
  }

  private async header(name: string, size: number, typeflag: string, mode: number, fields?: HeaderFields, pax: Uint8Array[] = []): Promise<void> {
    const nameBytes = enc.encode(name);
    let prefix = new Uint8Array(0);
    let base = nameBytes;
    const records = [...pax];
    if (nameBytes.length > 100) {
      const split = ustarSplit(name);
      if (split) {
        prefix = enc.encode(split[0]);
        base = enc.encode(split[1]);
      } else {
        // PAX extended header carrying the full path (POSIX.1-2001).
        records.unshift(paxRecord("path", name));
        base = nameBytes.slice(0, 100);
      }
    }
    if (records.length > 0) {
      const record = concat(records);
      await this.emit(headerBlock(enc.encode("PaxHeaders/entry"), new Uint8Array(0), record.length, "x", 0o644));
      await this.emit(record);
      await this.pad();
    }
    await this.emit(headerBlock(base, prefix, size, typeflag, mode, fields));
  }
}

/** Splits a long name at a `/` so that prefix ≤ 155 and name ≤ 100 bytes, if possible. */
function ustarSplit(name: string): [string, string] | undefined {
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== "/") continue;
    const p = name.slice(0, i);
    const n = name.slice(i + 1);
    if (enc.encode(p).length <= 155 && enc.encode(n).length <= 100 && n.length > 0) return [p, n];
  }
  return undefined;
}

/** `"<len> key=value\n"` where len counts the whole record, itself included. */
function paxRecord(key: string, value: string): Uint8Array {
  return paxRecordBytes(key, enc.encode(value));
}

function paxRecordBytes(key: string, value: Uint8Array): Uint8Array {
  const head = enc.encode(` ${key}=`);
  const bodyLen = head.length + value.length + 1;
  let len = bodyLen + String(bodyLen).length;
  if (String(len).length !== String(bodyLen).length) len = bodyLen + String(len).length;
  return concat([enc.encode(String(len)), head, value, enc.encode("\n")]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

interface HeaderFields {
  size: number;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

function octal(buf: Uint8Array, off: number, width: number, value: number): void {
  const s = value.toString(8).padStart(width - 1, "0");
  if (s.length > width - 1) throw new CtrError(`tar header field too large: ${value}`, { kind: "internal" });
  buf.set(enc.encode(s), off);
}

function headerBlock(name: Uint8Array, prefix: Uint8Array, size: number, typeflag: string, mode: number, fields?: HeaderFields): Uint8Array {
  const h = new Uint8Array(BLOCK);
  h.set(name.slice(0, 100), 0);
  octal(h, 100, 8, mode);
  octal(h, 108, 8, Math.min(fields?.uid ?? 0, MAX_OCTAL_ID));
  octal(h, 116, 8, Math.min(fields?.gid ?? 0, MAX_OCTAL_ID));
  if (size < 8 ** 11) {
    octal(h, 124, 12, size);
  } else {
    // GNU base-256 for sizes of 8 GiB and more.
    h[124] = 0x80;
    let v = BigInt(size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  octal(h, 136, 12, fields?.mtime ?? 0);
  h[156] = typeflag.charCodeAt(0);
  if (fields?.linkname) h.set(enc.encode(fields.linkname).slice(0, 100), 157);
  h.set(enc.encode("ustar\u000000"), 257);
  if (fields && (typeflag === "3" || typeflag === "4")) {
    octal(h, 329, 8, fields.devmajor);
    octal(h, 337, 8, fields.devminor);
  }
  h.set(prefix.slice(0, 155), 345);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  octal(h, 148, 7, sum);
  h[155] = 0x20;
  return h;
}

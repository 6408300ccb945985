/**
 * A small streaming tar writer for image archives (`save`): directories and
 * regular files, ustar headers, a PAX `path` record when a name does not fit
 * ustar's 100+155 bytes. File data streams through; only headers are built
 * in memory. Owners are 0, mtimes fixed, so the same images give the same
 * archive bytes.
 */
import { CtrError } from "../../errors.ts";

const BLOCK = 512;
const enc = new TextEncoder();

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

  private async header(name: string, size: number, typeflag: string, mode: number): Promise<void> {
    const nameBytes = enc.encode(name);
    let prefix = new Uint8Array(0);
    let base = nameBytes;
    if (nameBytes.length > 100) {
      const split = ustarSplit(name);
      if (split) {
        prefix = enc.encode(split[0]);
        base = enc.encode(split[1]);
      } else {
        // PAX extended header carrying the full path (POSIX.1-2001).
        const record = paxRecord("path", name);
        await this.emit(headerBlock(enc.encode("PaxHeaders/entry"), new Uint8Array(0), record.length, "x", 0o644));
        await this.emit(record);
        await this.pad();
        base = nameBytes.slice(0, 100);
      }
    }
    await this.emit(headerBlock(base, prefix, size, typeflag, mode));
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
  const body = ` ${key}=${value}\n`;
  const bodyLen = enc.encode(body).length;
  let len = bodyLen + String(bodyLen).length;
  if (String(len).length !== String(bodyLen).length) len = bodyLen + String(len).length;
  return enc.encode(`${len}${body}`);
}

function octal(buf: Uint8Array, off: number, width: number, value: number): void {
  const s = value.toString(8).padStart(width - 1, "0");
  if (s.length > width - 1) throw new CtrError(`tar header field too large: ${value}`, { kind: "internal" });
  buf.set(enc.encode(s), off);
}

function headerBlock(name: Uint8Array, prefix: Uint8Array, size: number, typeflag: string, mode: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  h.set(name.slice(0, 100), 0);
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
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
  octal(h, 136, 12, 0);
  h[156] = typeflag.charCodeAt(0);
  h.set(enc.encode("ustar\u000000"), 257);
  h.set(prefix.slice(0, 155), 345);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  octal(h, 148, 7, sum);
  h[155] = 0x20;
  return h;
}

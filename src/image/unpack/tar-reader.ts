/**
 * A streaming tar reader: yields one entry at a time, its data as chunks,
 * never holding a whole file in memory.
 *
 * Reads ustar, GNU (base-256 numbers, `L`/`K` long names) and PAX (`x` and
 * `g` headers) as Go's archive/tar does, since Go wrote most container
 * layers and containerd and podman read them with it. Names, link targets
 * and xattr values keep their exact bytes: the npm tar readers lose PAX uids
 * above 2^21 and binary values such as `security.capability`.
 *
 * The reader reads its input to the very end, past the end-of-archive
 * blocks, so that a digest taken over the input and a decompressor's
 * trailer check see every byte; after a format error too, so that a
 * decompressor's error takes precedence. A consumer that stops early
 * (break or throw) cancels the input.
 */
import { CtrError } from "../../errors.ts";

export type TarEntryType = "file" | "hardlink" | "symlink" | "char" | "block" | "dir" | "fifo" | "unknown";

/** A point in time: whole seconds since the epoch (may be negative) and nanoseconds 0..999999999. */
export interface TarTime {
  sec: number;
  nsec: number;
}

export interface TarEntry {
  /** "unknown" for typeflags this reader does not model (sparse, volume label, ...): skip those. */
  readonly type: TarEntryType;
  /** The raw typeflag character ("\0" for old regular files). */
  readonly typeflag: string;
  /** The name as UTF-8 text, for display; `pathBytes` is exact. */
  readonly path: string;
  readonly pathBytes: Uint8Array;
  /** Target of a hardlink or symlink, "" otherwise. */
  readonly linkpath: string;
  readonly linkpathBytes: Uint8Array;
  /** Bytes of data that follow; 0 for header-only types whatever the header says. */
  readonly size: number;
  /** Permission bits including setuid, setgid and sticky (07777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly uname: string;
  readonly gname: string;
  readonly mtime: TarTime;
  /** From a PAX `atime` record, if any. */
  readonly atime?: TarTime;
  readonly devmajor: number;
  readonly devminor: number;
  /** `SCHILY.xattr.<name>` records, values as exact bytes. */
  readonly xattrs: Map<string, Uint8Array>;
  /** Every PAX record in force for this entry (global and per-entry), for keys not modelled above. */
  readonly pax: Map<string, Uint8Array>;
  /** Byte offset in the input of this entry's first header (including PAX or GNU long-name headers). */
  readonly offset: number;
  /** The entry's data. Read it before asking for the next entry; unread data is skipped. */
  data(): AsyncIterable<Uint8Array>;
  /**
   * All of the data at once if it is already in memory (no copy, no wait),
   * else undefined and nothing is consumed. Small files almost always are:
   * the fast path that spares an unpacker one promise per file.
   */
  dataBuffered(): Uint8Array | undefined;
}

export interface TarReaderOptions {
  /** What the input is, for messages: "layer sha256:…". */
  label?: string;
}

export type ByteSource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

const BLOCK = 512;
/** Largest PAX or GNU long-name header accepted, so hostile input cannot make us buffer gigabytes (Go uses 1 MiB too). */
const MAX_META_SIZE = 1 << 20;
const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder();

/**
 * Reads the tar archive in `source` entry by entry.
 *
 * @throws CtrError (kind "invalid") on a bad header checksum, a malformed
 *   field or PAX record, or input that ends inside an entry
 *   (`… is truncated at byte N`)
 * @example
 * for await (const entry of readTar(Bun.file("layer.tar").stream())) {
 *   if (entry.type === "file") for await (const chunk of entry.data()) sink(chunk);
 * }
 */
export async function* readTar(source: ByteSource, opts: TarReaderOptions = {}): AsyncGenerator<TarEntry, void, undefined> {
  const label = opts.label ?? "tar stream";
  const input = new Input(source, label);
  let finished = false;
  try {
    const globals = new Map<string, Uint8Array>();
    for (;;) {
      const entry = await readEntry(input, globals, label);
      if (!entry) break;
      yield entry;
      entry.live = false;
      const rest = entry.remaining + padding(entry.size);
      if (!input.skipBuffered(rest)) await input.skip(rest);
    }
    await input.drain();
    finished = true;
  } catch (err) {
    // Corrupt compressed data often decodes to garbage before the decompressor's own check fails:
    // read on, so that its error, the real cause, is the one reported.
    if (err instanceof CtrError && formatErrors.has(err)) await input.drain();
    throw err;
  } finally {
    if (!finished) input.cancel();
  }
}

/** Errors about the archive's format, as opposed to errors of the input stream. */
const formatErrors = new WeakSet<CtrError>();

/** Reads headers up to the next real entry; undefined at the end of the archive. */
async function readEntry(input: Input, globals: Map<string, Uint8Array>, label: string): Promise<Entry | undefined> {
  const start = input.offset;
  let local: Map<string, Uint8Array> | undefined;
  let longName: Uint8Array | undefined;
  let longLink: Uint8Array | undefined;
  for (;;) {
    const at = input.offset;
    const block = input.blockBuffered() ?? (await input.readBlock());
    if (!block) {
      // The end of input at a block boundary is tolerated, as GNU tar and Go do, but not right after an extended header.
      if (local || longName || longLink) throw input.truncated();
      return undefined;
    }
    if (isZero(block)) {
      const next = await input.readBlock();
      if (!next || isZero(next)) return undefined;
      throw invalid(label, at + BLOCK, "a lone zero block is followed by more headers");
    }
    const h = parseHeader(block, at, label);
    // Old GNU sparse headers may chain extension blocks of sparse map before the data.
    if (h.typeflag === "S" && block[482] !== 0) {
      for (;;) {
        const ext = await input.readBlock();
        if (!ext) throw input.truncated();
        if (ext[504] === 0) break;
      }
    }
    switch (h.typeflag) {
      case "x":
      case "g": {
        const records = parsePax(await input.readMeta(h.size, at, label), at, label);
        if (h.typeflag === "g") {
          for (const [k, v] of records) v.length === 0 ? globals.delete(k) : globals.set(k, v);
        } else {
          local ??= new Map();
          for (const [k, v] of records) local.set(k, v);
        }
        continue;
      }
      case "L":
        longName = cString(await input.readMeta(h.size, at, label));
        continue;
      case "K":
        longLink = cString(await input.readMeta(h.size, at, label));
        continue;
    }
    // A per-entry record with an empty value cancels the global one and the header falls back to its own field.
    let pax: Map<string, Uint8Array>;
    if (!local) pax = new Map(globals);
    else {
      pax = new Map(globals);
      for (const [k, v] of local) v.length === 0 ? pax.delete(k) : pax.set(k, v);
    }
    return new Entry(input, h, start, pax, longName, longLink, label);
  }
}

interface RawHeader {
  typeflag: string;
  name: Uint8Array;
  linkname: Uint8Array;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  uname: Uint8Array;
  gname: Uint8Array;
  devmajor: number;
  devminor: number;
}

function parseHeader(b: Uint8Array, at: number, label: string): RawHeader {
  verifyChecksum(b, at, label);
  const num = (off: number, len: number, field: string) => parseNumber(b.subarray(off, off + len), at, label, field);
  const isUstar = b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72; // "ustar"
  // POSIX ustar has "ustar\0"; GNU has "ustar " and keeps atime/ctime where ustar keeps the name prefix.
  const isPosix = isUstar && b[262] === 0;
  let name = field(b, 0, 100);
  if (isPosix && b[345] !== 0) {
    // Schily's star format ends the block with "tar\0" and keeps times after a shorter prefix.
    const star = b[508] === 0x74 && b[509] === 0x61 && b[510] === 0x72 && b[511] === 0;
    const prefix = field(b, 345, star ? 131 : 155);
    const joined = new Uint8Array(prefix.length + 1 + name.length);
    joined.set(prefix);
    joined[prefix.length] = 0x2f;
    joined.set(name, prefix.length + 1);
    name = joined;
  }
  return {
    typeflag: String.fromCharCode(b[156]!),
    name,
    linkname: field(b, 157, 100),
    mode: num(100, 8, "mode"),
    uid: num(108, 8, "uid"),
    gid: num(116, 8, "gid"),
    size: num(124, 12, "size"),
    mtime: num(136, 12, "mtime"),
    uname: isUstar ? field(b, 265, 32) : EMPTY,
    gname: isUstar ? field(b, 297, 32) : EMPTY,
    devmajor: isUstar ? num(329, 8, "devmajor") : 0,
    devminor: isUstar ? num(337, 8, "devminor") : 0,
  };
}

/** One entry; text fields are decoded on first use, since an unpacker mostly needs only the bytes. */
class Entry implements TarEntry {
  readonly type: TarEntryType;
  readonly typeflag: string;
  readonly pathBytes: Uint8Array;
  readonly linkpathBytes: Uint8Array;
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: TarTime;
  readonly atime?: TarTime;
  readonly devmajor: number;
  readonly devminor: number;
  readonly pax: Map<string, Uint8Array>;
  readonly offset: number;
  /** Data bytes not yet read. */
  remaining: number;
  /** False once the reader has moved past this entry. */
  live = true;
  private text?: { path: string; linkpath: string; uname: string; gname: string };
  private xattrMap?: Map<string, Uint8Array>;

  constructor(
    private readonly input: Input,
    private readonly h: RawHeader,
    offset: number,
    pax: Map<string, Uint8Array>,
    longName: Uint8Array | undefined,
    longLink: Uint8Array | undefined,
    label: string,
  ) {
    const paxNum = (key: string, fallback: number) => {
      const v = pax.get(key);
      return v ? parseDecimal(v, offset, label, key) : fallback;
    };
    this.typeflag = h.typeflag;
    // GNU long names win over PAX, as in Go's reader.
    this.pathBytes = longName ?? pax.get("path") ?? h.name;
    this.linkpathBytes = longLink ?? pax.get("linkpath") ?? h.linkname;
    let type = typeOf(h.typeflag);
    // Pre-POSIX archives mark directories only by a trailing slash.
    if (h.typeflag === "\0" && this.pathBytes[this.pathBytes.length - 1] === 0x2f) type = "dir";
    this.type = type;
    // Go's reader too ignores the size field of header-only types: nothing follows them.
    this.size = type !== "file" && type !== "unknown" ? 0 : paxNum("size", h.size);
    this.remaining = this.size;
    this.mode = h.mode & 0o7777;
    this.uid = paxNum("uid", h.uid);
    this.gid = paxNum("gid", h.gid);
    const mtime = pax.get("mtime");
    this.mtime = mtime ? parseTime(mtime, offset, label, "mtime") : { sec: h.mtime, nsec: 0 };
    const atime = pax.get("atime");
    if (atime) this.atime = parseTime(atime, offset, label, "atime");
    this.devmajor = h.devmajor;
    this.devminor = h.devminor;
    this.pax = pax;
    this.offset = offset;
  }

  get path(): string {
    return this.decoded().path;
  }
  get linkpath(): string {
    return this.decoded().linkpath;
  }
  get uname(): string {
    return this.decoded().uname;
  }
  get gname(): string {
    return this.decoded().gname;
  }

  get xattrs(): Map<string, Uint8Array> {
    if (!this.xattrMap) {
      this.xattrMap = new Map();
      for (const [k, v] of this.pax) if (k.startsWith("SCHILY.xattr.")) this.xattrMap.set(k.slice(13), v);
    }
    return this.xattrMap;
  }

  data(): AsyncIterable<Uint8Array> {
    return dataOf(this);
  }

  dataBuffered(): Uint8Array | undefined {
    if (!this.live) throw new Error("tar entry data read after moving to the next entry");
    const whole = this.input.takeBuffered(this.remaining);
    if (whole) this.remaining = 0;
    return whole;
  }

  /** @internal */
  takeChunk(): Promise<Uint8Array> {
    return this.input.take(this.remaining);
  }

  private decoded() {
    return (this.text ??= {
      path: utf8.decode(this.pathBytes),
      linkpath: utf8.decode(this.linkpathBytes),
      uname: utf8.decode(this.pax.get("uname") ?? this.h.uname),
      gname: utf8.decode(this.pax.get("gname") ?? this.h.gname),
    });
  }
}

async function* dataOf(entry: Entry): AsyncGenerator<Uint8Array> {
  if (!entry.live) throw new Error("tar entry data read after moving to the next entry");
  while (entry.remaining > 0) {
    const chunk = await entry.takeChunk();
    entry.remaining -= chunk.length;
    yield chunk;
  }
}

function typeOf(flag: string): TarEntryType {
  switch (flag) {
    case "0":
    case "\0":
    case "7": // contiguous file: POSIX says read it as a regular file
      return "file";
    case "1":
      return "hardlink";
    case "2":
      return "symlink";
    case "3":
      return "char";
    case "4":
      return "block";
    case "5":
      return "dir";
    case "6":
      return "fifo";
    default:
      return "unknown";
  }
}

function verifyChecksum(b: Uint8Array, at: number, label: string): void {
  const stored = parseNumber(b.subarray(148, 156), at, label, "checksum");
  // The checksum counts its own field as spaces. Old Sun and GNU tars summed signed bytes, so accept either sum.
  let unsigned = 8 * 0x20;
  let signed = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) {
    if (i === 148) i = 156;
    const v = b[i]!;
    unsigned += v;
    signed += v < 128 ? v : v - 256;
  }
  if (stored !== unsigned && stored !== signed) throw invalid(label, at, "header checksum does not match");
}

/** Octal, or base-256 (GNU) when the top bit of the first byte is set. */
function parseNumber(f: Uint8Array, at: number, label: string, name: string): number {
  if (f.length > 0 && f[0]! & 0x80) {
    // Two's complement with the marker bit dropped: 0x80 starts a positive number, 0xff a negative one.
    const negative = (f[0]! & 0x40) !== 0;
    let v = BigInt(negative ? (f[0]! | 0x80) ^ 0xff : f[0]! & 0x7f);
    for (let i = 1; i < f.length; i++) v = (v << 8n) | BigInt(negative ? f[i]! ^ 0xff : f[i]!);
    if (negative) v = -v - 1n;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw invalid(label, at, `the ${name} field is out of range`);
    return Number(v);
  }
  let i = 0;
  let end = f.length;
  while (i < end && (f[i] === 0x20 || f[i] === 0)) i++;
  while (end > i && (f[end - 1] === 0x20 || f[end - 1] === 0)) end--;
  let v = 0;
  for (; i < end; i++) {
    const d = f[i]! - 0x30;
    if (d < 0 || d > 7) throw invalid(label, at, `the ${name} field is not an octal number`);
    v = v * 8 + d;
  }
  if (v > Number.MAX_SAFE_INTEGER) throw invalid(label, at, `the ${name} field is out of range`);
  return v;
}

/** PAX records: "<length> <key>=<value>\n", the length counting bytes of the whole record. */
function parsePax(data: Uint8Array, at: number, label: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let pos = 0;
  while (pos < data.length) {
    // Some writers pad the header data with NULs.
    if (data[pos] === 0) break;
    let i = pos;
    let len = 0;
    while (i < data.length && data[i]! >= 0x30 && data[i]! <= 0x39 && i - pos < 16) len = len * 10 + (data[i++]! - 0x30);
    const end = pos + len;
    if (i === pos || data[i] !== 0x20 || end > data.length || end <= i + 1 || data[end - 1] !== 0x0a) {
      throw invalid(label, at, `malformed PAX record at offset ${pos}`);
    }
    const record = data.subarray(i + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw invalid(label, at, `malformed PAX record at offset ${pos}`);
    out.set(utf8.decode(record.subarray(0, eq)), copy(record, eq + 1, record.length));
    pos = end;
  }
  return out;
}

function parseDecimal(v: Uint8Array, at: number, label: string, key: string): number {
  const s = latin1(v);
  if (!/^[0-9]{1,16}$/.test(s)) throw invalid(label, at, `PAX record "${key}" is not a number: "${s}"`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw invalid(label, at, `PAX record "${key}" is out of range: "${s}"`);
  return n;
}

/** "-?seconds[.fraction]" into whole seconds and nanoseconds, flooring so that nsec is never negative. */
function parseTime(v: Uint8Array, at: number, label: string, key: string): TarTime {
  const s = latin1(v);
  const m = /^(-?)([0-9]{1,16})(?:\.([0-9]*))?$/.exec(s);
  if (!m) throw invalid(label, at, `PAX record "${key}" is not a time: "${s}"`);
  let sec = Number(m[2]);
  let nsec = Number(((m[3] ?? "") + "000000000").slice(0, 9));
  if (m[1] === "-") {
    sec = -sec;
    if (nsec > 0) {
      sec -= 1;
      nsec = 1e9 - nsec;
    }
  }
  return { sec, nsec };
}

function field(b: Uint8Array, off: number, len: number): Uint8Array {
  const f = b.subarray(off, off + len);
  const nul = f.indexOf(0);
  return copy(f, 0, nul < 0 ? len : nul);
}

/** A copy that owns its memory: input chunks may be Buffers, whose slice() is only a view. */
function copy(b: Uint8Array, start: number, end: number): Uint8Array {
  return Uint8Array.prototype.slice.call(b, start, end);
}

function cString(b: Uint8Array): Uint8Array {
  const nul = b.indexOf(0);
  return nul < 0 ? b : copy(b, 0, nul);
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function invalid(label: string, at: number, what: string): CtrError {
  const err = new CtrError(`${label} has an invalid tar header at byte ${at}: ${what}`, { kind: "invalid" });
  formatErrors.add(err);
  return err;
}

/** The input as a cursor over its chunks, counting bytes for messages. */
class Input {
  /** Bytes consumed so far: the offset of the next unread byte. */
  offset = 0;
  private readonly it: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = EMPTY;
  private pos = 0;
  private received = 0;
  private ended = false;

  constructor(
    source: ByteSource,
    private readonly label: string,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Makes sure unread bytes are buffered; false at the end of input. */
  private async more(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      if (this.ended) return false;
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        return false;
      }
      this.chunk = r.value;
      this.pos = 0;
      this.received += r.value.length;
    }
    return true;
  }

  /** The next block if it is already buffered whole, without a wait; undefined otherwise. */
  blockBuffered(): Uint8Array | undefined {
    return this.takeBuffered(BLOCK);
  }

  /** `n` bytes if they are already buffered, without copying or waiting; undefined otherwise. */
  takeBuffered(n: number): Uint8Array | undefined {
    if (this.chunk.length - this.pos < n) return undefined;
    const out = this.chunk.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    return out;
  }

  /** Skips `n` bytes if they are already buffered; false (and nothing skipped) otherwise. */
  skipBuffered(n: number): boolean {
    if (this.chunk.length - this.pos < n) return false;
    this.pos += n;
    this.offset += n;
    return true;
  }

  /** The next 512-byte block; undefined when the input ends right here. */
  async readBlock(): Promise<Uint8Array | undefined> {
    if (!(await this.more())) return undefined;
    return this.readExact(BLOCK);
  }

  /** The data of a PAX or GNU long-name header, padding consumed. */
  async readMeta(size: number, at: number, label: string): Promise<Uint8Array> {
    if (size > MAX_META_SIZE) throw invalid(label, at, `extended header of ${size} bytes is larger than the limit of ${MAX_META_SIZE}`);
    const data = size === 0 ? EMPTY : copy(await this.readExact(size), 0, size);
    await this.skip(padding(size));
    return data;
  }

  private async readExact(n: number): Promise<Uint8Array> {
    if (!(await this.more())) throw this.truncated();
    if (this.chunk.length - this.pos >= n) {
      const out = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      this.offset += n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (!(await this.more())) throw this.truncated();
      const take = Math.min(n - filled, this.chunk.length - this.pos);
      out.set(this.chunk.subarray(this.pos, this.pos + take), filled);
      this.pos += take;
      this.offset += take;
      filled += take;
    }
    return out;
  }

  /** Up to `max` (> 0) bytes without copying. */
  async take(max: number): Promise<Uint8Array> {
    if (!(await this.more())) throw this.truncated();
    const n = Math.min(max, this.chunk.length - this.pos);
    const out = this.chunk.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    return out;
  }

  async skip(n: number): Promise<void> {
    while (n > 0) {
      if (!(await this.more())) throw this.truncated();
      const k = Math.min(n, this.chunk.length - this.pos);
      this.pos += k;
      this.offset += k;
      n -= k;
    }
  }

  /** Reads and drops everything left, so the input is consumed to its end. */
  async drain(): Promise<void> {
    while (await this.more()) {
      this.offset += this.chunk.length - this.pos;
      this.pos = this.chunk.length;
    }
  }

  cancel(): void {
    if (this.ended) return;
    this.ended = true;
    // Not awaited: a stalled source must not keep the caller from seeing the first error.
    this.it.return?.()?.catch(() => {});
  }

  truncated(): CtrError {
    return new CtrError(`${this.label} is truncated at byte ${this.received}`, { kind: "invalid" });
  }
}

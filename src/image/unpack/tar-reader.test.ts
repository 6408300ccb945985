import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, linkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CtrError } from "../../errors.ts";
import { readTar, type TarEntry } from "./tar-reader.ts";

const work = mkdtempSync(join(tmpdir(), "ctr-tar-reader-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const hasPython = Bun.which("python3") !== null;
const hasTar = Bun.which("tar") !== null;

let counter = 0;
function scratch(): string {
  const d = join(work, String(counter++));
  mkdirSync(d);
  return d;
}

function run(cmd: string[]): void {
  const p = Bun.spawnSync(cmd, { stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd[0]} failed: ${p.stderr.toString()}`);
}

/** Writes a tar with Python's tarfile, which writes PAX, GNU and odd headers faithfully; `body` gets `tf` open for writing. */
function pythonTar(format: "PAX" | "GNU" | "USTAR", body: string, globals = "{}"): Uint8Array {
  const out = join(scratch(), "t.tar");
  const script = `
import io, sys, tarfile
def add(tf, name, data=b"", **kw):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mtime = kw.pop("mtime", 1700000000)
    for k, v in kw.items(): setattr(ti, k, v)
    tf.addfile(ti, io.BytesIO(data) if data else None)
    return ti
def raw(b): return b.decode("utf-8", "surrogateescape")
tf = tarfile.open(sys.argv[1], "w", format=tarfile.${format}_FORMAT, encoding="utf-8", errors="surrogateescape", pax_headers=${globals})
${body}
tf.close()
`;
  run(["python3", "-c", script, out]);
  return readFileSync(out);
}

async function* chunked(data: Uint8Array, size = 1000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

interface Read {
  entry: TarEntry;
  data: Uint8Array;
}

/** Reads every entry with its data, mixing the buffered and streamed paths. */
async function readAll(data: Uint8Array, chunk = 1000): Promise<Read[]> {
  const out: Read[] = [];
  let i = 0;
  for await (const entry of readTar(chunked(data, chunk), { label: "layer sha256:test" })) {
    const parts: Uint8Array[] = [];
    const whole = i++ % 2 === 0 ? entry.dataBuffered() : undefined;
    if (whole) parts.push(whole.slice());
    else for await (const c of entry.data()) parts.push(c.slice());
    out.push({ entry, data: Buffer.concat(parts) });
  }
  return out;
}

function byPath(entries: Read[]): Map<string, Read> {
  return new Map(entries.map((r) => [r.entry.path.replace(/^\.\//, "").replace(/\/$/, ""), r]));
}

async function readError(data: Uint8Array | AsyncIterable<Uint8Array>): Promise<CtrError> {
  try {
    for await (const e of readTar(data instanceof Uint8Array ? chunked(data) : data, { label: "layer sha256:test" })) {
      for await (const _ of e.data());
    }
  } catch (err) {
    expect(err).toBeInstanceOf(CtrError);
    return err as CtrError;
  }
  throw new Error("expected an error");
}

describe.skipIf(!hasTar)("readTar with GNU tar archives", () => {
  const src = join(work, "tree");
  const longDir = `${"d".repeat(60)}/${"e".repeat(60)}`;
  beforeAll(() => {
    mkdirSync(join(src, longDir), { recursive: true });
    writeFileSync(join(src, "file.txt"), "hello\n");
    writeFileSync(join(src, "big.bin"), Buffer.alloc(70_000, 7));
    writeFileSync(join(src, longDir, `${"f".repeat(80)}.txt`), "deep");
    symlinkSync("file.txt", join(src, "link"));
    linkSync(join(src, "file.txt"), join(src, "hard"));
    run(["mkfifo", join(src, "fifo")]);
    // Explicit, so that the test holds under any umask.
    chmodSync(join(src, "file.txt"), 0o644);
    utimesSync(join(src, "file.txt"), 1700000000, 1700000000);
  });

  for (const format of ["gnu", "ustar", "posix"] as const) {
    test(`readTar reads every entry type from a ${format} archive`, async () => {
      const out = join(scratch(), "t.tar");
      const owner = format === "gnu" ? ["--owner=4000000", "--group=4000001"] : ["--owner=0", "--group=0"];
      run(["tar", `--format=${format}`, "--numeric-owner", ...owner, "-C", src, "-cf", out, "."]);
      const entries = byPath(await readAll(readFileSync(out), 777));
      expect(entries.get("file.txt")!.entry.type).toBe("file");
      expect(entries.get("file.txt")!.entry.mode).toBe(0o644);
      expect(entries.get("file.txt")!.entry.mtime).toEqual({ sec: 1700000000, nsec: 0 });
      expect(new TextDecoder().decode(entries.get("file.txt")!.data)).toBe("hello\n");
      expect(entries.get("big.bin")!.data).toEqual(new Uint8Array(Buffer.alloc(70_000, 7)));
      expect(entries.get(`${longDir}/${"f".repeat(80)}.txt`)!.entry.size).toBe(4);
      expect(entries.get("link")!.entry).toMatchObject({ type: "symlink", linkpath: "file.txt", size: 0 });
      const hard = entries.get("hard") ?? entries.get("file.txt")!;
      const other = hard === entries.get("hard") ? "file.txt" : "hard";
      expect(hard.entry.type === "hardlink" || entries.get(other)!.entry.type === "hardlink").toBe(true);
      expect(entries.get("fifo")!.entry.type).toBe("fifo");
      expect(entries.get("")!.entry.type).toBe("dir");
      expect(entries.get(longDir)!.entry.type).toBe("dir");
      // GNU tar stores uids above 2^21-1 in base-256.
      if (format === "gnu") expect(entries.get("file.txt")!.entry).toMatchObject({ uid: 4000000, gid: 4000001 });
    });
  }

  test("readTar keeps nanosecond mtimes from GNU tar's PAX headers", async () => {
    const dir = scratch();
    writeFileSync(join(dir, "f"), "x");
    run(["touch", "-d", "@1700000000.123456789", join(dir, "f")]);
    const out = join(dir, "t.tar");
    run(["tar", "--format=posix", "-C", dir, "-cf", out, "f"]);
    const [f] = await readAll(readFileSync(out));
    expect(f!.entry.mtime).toEqual({ sec: 1700000000, nsec: 123456789 });
  });
});

describe.skipIf(!hasPython)("readTar with PAX and GNU extensions", () => {
  test("readTar reads PAX uids above 2^21, binary xattrs and multibyte names byte-exactly", async () => {
    const tar = pythonTar(
      "PAX",
      `
ti = tarfile.TarInfo("dir/ünïcødé-文件.txt")
ti.size = 3; ti.uid = 2**21 + 5; ti.gid = 2**32 - 2; ti.mtime = 1700000000.5; ti.mode = 0o4755
ti.pax_headers = {"SCHILY.xattr.security.capability": raw(b"\\x01\\x00\\x00\\x02\\xff\\x00\\x00\\x00"), "SCHILY.xattr.user.note": "é=1\\n2"}
tf.addfile(ti, io.BytesIO(b"abc"))
`,
    );
    const [r] = await readAll(tar);
    const e = r!.entry;
    expect(e.path).toBe("dir/ünïcødé-文件.txt");
    expect(e.pathBytes).toEqual(new Uint8Array(Buffer.from("dir/ünïcødé-文件.txt")));
    expect(e.uid).toBe(2 ** 21 + 5);
    expect(e.gid).toBe(2 ** 32 - 2);
    expect(e.mode).toBe(0o4755);
    expect(e.mtime).toEqual({ sec: 1700000000, nsec: 500000000 });
    expect(e.xattrs.get("security.capability")).toEqual(new Uint8Array([1, 0, 0, 2, 0xff, 0, 0, 0]));
    expect(new TextDecoder().decode(e.xattrs.get("user.note"))).toBe("é=1\n2");
    expect(new TextDecoder().decode(r!.data)).toBe("abc");
  });

  test("readTar applies global PAX headers until an entry's own empty record cancels them", async () => {
    const tar = pythonTar(
      "PAX",
      `
add(tf, "a", b"1", uname="local")
ti = tarfile.TarInfo("b"); ti.uname = "header"; ti.pax_headers = {"uname": ""}; tf.addfile(ti)
`,
      `{"uname": "global", "comment": "hi"}`,
    );
    const [a, b] = await readAll(tar);
    // Python writes the global uname into the "g" header; a global record overrides the ustar field.
    expect(a!.entry.uname).toBe("global");
    expect(new TextDecoder().decode(a!.entry.pax.get("comment"))).toBe("hi");
    expect(b!.entry.uname).toBe("header");
  });

  test("readTar reads GNU long names and long link targets", async () => {
    const name = `${"n".repeat(150)}/${"m".repeat(150)}`;
    const target = `/${"t".repeat(250)}`;
    const tar = pythonTar("GNU", `add(tf, "${name}", b"x"); add(tf, "sym", type=tarfile.SYMTYPE, linkname="${target}")`);
    const [f, l] = await readAll(tar);
    expect(f!.entry.path).toBe(name);
    expect(l!.entry).toMatchObject({ type: "symlink", path: "sym", linkpath: target });
  });

  test("readTar keeps names that are not UTF-8 as exact bytes", async () => {
    for (const format of ["GNU", "PAX"] as const) {
      const tar = pythonTar(format, `add(tf, raw(b"caf\\xe9-\\xff"), b"z")`);
      const [f] = await readAll(tar);
      expect(f!.entry.pathBytes).toEqual(new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x2d, 0xff]));
    }
  });

  test("readTar reads base-256 negative mtimes", async () => {
    const [f] = await readAll(pythonTar("GNU", `add(tf, "old", b"", mtime=-1000)`));
    expect(f!.entry.mtime).toEqual({ sec: -1000, nsec: 0 });
  });

  test("readTar skips unknown types and ignores the size of header-only types", async () => {
    const tar = pythonTar(
      "USTAR",
      `
add(tf, "label", b"12345", type=b"Z")
ti = tarfile.TarInfo("sym"); ti.type = tarfile.SYMTYPE; ti.linkname = "x"; ti.size = 900; tf.addfile(ti)
add(tf, "after", b"ok")
`,
    );
    const entries = await readAll(tar);
    expect(entries.map((r) => [r.entry.path, r.entry.type, r.entry.size])).toEqual([
      ["label", "unknown", 5],
      ["sym", "symlink", 0],
      ["after", "file", 2],
    ]);
    expect(entries[2]!.data).toEqual(new Uint8Array([0x6f, 0x6b]));
  });
});

/** A ustar header block with a correct checksum. */
function ustarHeader(name: string, size: number, type = "0"): Uint8Array {
  const b = new Uint8Array(512);
  const enc = new TextEncoder();
  b.set(enc.encode(name), 0);
  b.set(enc.encode("0000644\0"), 100);
  b.set(enc.encode("0000000\0"), 108);
  b.set(enc.encode("0000000\0"), 116);
  b.set(enc.encode(size.toString(8).padStart(11, "0") + "\0"), 124);
  b.set(enc.encode("14524770400\0"), 136);
  b[156] = type.charCodeAt(0);
  b.set(enc.encode("ustar\x0000"), 257);
  b.fill(0x20, 148, 156);
  const sum = b.reduce((a, v) => a + v, 0);
  b.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  return b;
}

describe("readTar on damaged input", () => {
  /** A tiny archive written here, so these tests need no tools. */
  function tinyTar(): Uint8Array {
    const data = new Uint8Array(512).fill(0x41);
    return Buffer.concat([ustarHeader("one", 600), data, new Uint8Array(512), ustarHeader("two", 3), new Uint8Array(512), new Uint8Array(1024)]);
  }

  test("readTar names the byte where a truncated archive ends", async () => {
    const err = await readError(tinyTar().subarray(0, 700));
    expect(err.message).toBe("layer sha256:test is truncated at byte 700");
    expect(err.kind).toBe("invalid");
    const inHeader = await readError(tinyTar().subarray(0, 300));
    expect(inHeader.message).toBe("layer sha256:test is truncated at byte 300");
  });

  test("readTar accepts an archive that ends without the end-of-archive blocks", async () => {
    const entries = await readAll(tinyTar().subarray(0, 2560));
    expect(entries.map((r) => r.entry.path)).toEqual(["one", "two"]);
  });

  test("readTar rejects a header whose checksum does not match", async () => {
    const tar = tinyTar();
    tar[1536 + 5] = 0x5a; // inside the second header's name
    const err = await readError(tar);
    expect(err.message).toBe("layer sha256:test has an invalid tar header at byte 1536: header checksum does not match");
  });

  test("readTar rejects a lone zero block followed by more headers", async () => {
    const t = tinyTar();
    const tar = Buffer.concat([t.subarray(0, 1536), new Uint8Array(512), t.subarray(1536)]);
    expect((await readError(tar)).message).toContain("a lone zero block is followed by more headers");
  });

  test("readTar reads its input to the end, past the end-of-archive blocks", async () => {
    const tar = Buffer.concat([tinyTar(), new Uint8Array(8192).fill(0x99)]);
    let seen = 0;
    async function* counting() {
      for await (const c of chunked(tar, 512)) {
        seen += c.length;
        yield c;
      }
    }
    for await (const _ of readTar(counting()));
    expect(seen).toBe(tar.length);
  });

  test("readTar streams a big file's data without reading it all first", async () => {
    const size = 64 * 1024 * 1024;
    const piece = 64 * 1024;
    let produced = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      const h = ustarHeader("big", size);
      yield h;
      const zeros = new Uint8Array(piece);
      for (let n = 0; n < size; n += piece) {
        produced += piece;
        yield zeros;
      }
      yield new Uint8Array(1024);
    }
    let producedAtFirst = -1;
    let total = 0;
    let biggest = 0;
    for await (const e of readTar(source())) {
      for await (const c of e.data()) {
        if (producedAtFirst < 0) producedAtFirst = produced;
        total += c.length;
        biggest = Math.max(biggest, c.length);
      }
    }
    expect(total).toBe(size);
    expect(producedAtFirst).toBeLessThanOrEqual(2 * piece);
    expect(biggest).toBeLessThanOrEqual(piece);
  });

  test("readTar cancels its input when the consumer stops early", async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(tinyTar());
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const _ of readTar(stream)) break;
    await Bun.sleep(0);
    expect(cancelled).toBe(true);
  });

  test("readTar refuses an extended header too big to hold in memory", async () => {
    const err = await readError(Buffer.concat([ustarHeader("pax", 2 ** 31, "x"), new Uint8Array(1024)]));
    expect(err.message).toBe("layer sha256:test has an invalid tar header at byte 0: extended header of 2147483648 bytes is larger than the limit of 1048576");
  });

  test("readTar reports input that ends right after an extended header as truncated", async () => {
    const err = await readError(Buffer.concat([ustarHeader("pax", 10, "x"), Buffer.from("10 path=a\n"), new Uint8Array(502)]));
    expect(err.message).toBe("layer sha256:test is truncated at byte 1024");
  });

  test("readTar refuses a PAX record whose length is wrong", async () => {
    const err = await readError(Buffer.concat([ustarHeader("pax", 10, "x"), Buffer.from("99 path=a\n"), new Uint8Array(502), tinyTar()]));
    expect(err.message).toBe("layer sha256:test has an invalid tar header at byte 0: malformed PAX record at offset 0");
  });

  test("readTar reads nothing from an empty input", async () => {
    expect(await readAll(new Uint8Array(0))).toEqual([]);
  });
});

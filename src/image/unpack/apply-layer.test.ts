import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CtrError } from "../../errors.ts";
import { ErrnoError, lgetxattr, llistxattr, lsetxattr, mknod, S_IFCHR } from "../../host/libc.ts";
import { MediaType } from "../../oci/image.ts";
import { applyLayer, type ApplyLayerResult } from "./apply-layer.ts";
import { decompressLayer } from "./decompress.ts";

const work = mkdtempSync(join(tmpdir(), "ctr-apply-layer-"));
afterAll(() => {
  // Read-only directories left by the tests would stop the removal of their content.
  Bun.spawnSync(["chmod", "-R", "u+rwX", work]);
  rmSync(work, { recursive: true, force: true });
});

const isRoot = process.getuid?.() === 0;
const hasPython = Bun.which("python3") !== null;
const hasTar = Bun.which("tar") !== null;
const hasGzip = Bun.which("gzip") !== null;
const hasZstd = Bun.which("zstd") !== null;
const LAYER = "sha256:0123abcd";

let counter = 0;
function scratch(): string {
  const d = join(work, String(counter++));
  mkdirSync(d);
  return d;
}

function run(cmd: string[], cwd?: string): void {
  const p = Bun.spawnSync(cmd, { cwd, stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd[0]} failed: ${p.stderr.toString()}`);
}

/** Writes a tar with Python's tarfile, which writes PAX, GNU, binary xattrs and hostile names faithfully. */
function pythonTar(body: string, format: "PAX" | "GNU" = "PAX"): Uint8Array {
  const out = join(scratch(), "t.tar");
  const script = `
import io, sys, tarfile
def add(tf, name, data=b"", xattrs=None, **kw):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mtime = kw.pop("mtime", 1700000000)
    for k, v in kw.items(): setattr(ti, k, v)
    if xattrs: ti.pax_headers = {"SCHILY.xattr." + k: v.decode("utf-8", "surrogateescape") for k, v in xattrs.items()}
    tf.addfile(ti, io.BytesIO(data) if data else None)
def raw(b): return b.decode("utf-8", "surrogateescape")
D, L, S, H, C, B, F = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE
tf = tarfile.open(sys.argv[1], "w", format=tarfile.${format}_FORMAT, encoding="utf-8", errors="surrogateescape")
${body}
tf.close()
`;
  run(["python3", "-c", script, out]);
  return readFileSync(out);
}

function streamOf(data: Uint8Array, chunk = 4096): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (at >= data.length) return ctl.close();
      ctl.enqueue(Uint8Array.prototype.slice.call(data, at, at + chunk));
      at += chunk;
    },
  });
}

/** A layer directory nested two deep, so that escapes up to two levels would land in directories we can inspect. */
function layerDir(): { base: string; dest: string } {
  const base = scratch();
  const dest = join(base, "layer", "diff");
  mkdirSync(dest, { recursive: true });
  return { base, dest };
}

async function apply(tar: Uint8Array, dest: string, opts: { chown?: boolean } = {}): Promise<ApplyLayerResult> {
  return applyLayer(streamOf(tar), dest, { name: LAYER, ...opts });
}

async function applyError(tar: Uint8Array, dest: string): Promise<CtrError> {
  try {
    await apply(tar, dest);
  } catch (err) {
    expect(err).toBeInstanceOf(CtrError);
    return err as CtrError;
  }
  throw new Error("expected applyLayer to fail");
}

/** Nothing but the layer directory may exist around it after a hostile tar. */
function expectNothingOutside(base: string): void {
  expect(readdirSync(base)).toEqual(["layer"]);
  expect(readdirSync(join(base, "layer"))).toEqual(["diff"]);
}

function sha256(data: Uint8Array): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(data).digest("hex")}`;
}

function xattr(path: string, name: string): string | undefined {
  const v = lgetxattr(path, name);
  return v && new TextDecoder().decode(v);
}

describe.skipIf(!hasTar)("applyLayer with a GNU tar tree", () => {
  const src = join(work, "tree");
  const names: string[] = [];

  beforeAll(() => {
    const files: [string, string | Uint8Array, number][] = [
      ["plain", "hello\n", 0o644],
      ["setuid", "#!/bin/sh\n", 0o4755],
      ["setgid", "g", 0o2755],
      ["readonly", "ro", 0o400],
      ["empty", "", 0o600],
      ["big.bin", crypto.getRandomValues(new Uint8Array(65536)).subarray(0, 65536), 0o644],
      ["sticky/inside", "s", 0o644],
      ["locked/inside", "l", 0o644],
      ["private/inside", "p", 0o644],
    ];
    mkdirSync(src);
    for (const d of ["sticky", "locked", "private"]) mkdirSync(join(src, d));
    for (const [name, data, mode] of files) {
      writeFileSync(join(src, name), data);
      chmodSync(join(src, name), mode);
    }
    // A bigger file in several chunks, to take the streamed path.
    writeFileSync(join(src, "huge.bin"), Buffer.alloc(3 * 1024 * 1024 + 17, 0x5a));
    symlinkSync("plain", join(src, "rel-link"));
    symlinkSync("/nonexistent/target", join(src, "abs-link"));
    symlinkSync("../../../etc/passwd", join(src, "up-link"));
    linkSync(join(src, "plain"), join(src, "hard"));
    run(["mkfifo", "-m", "0640", join(src, "fifo")]);
    chmodSync(join(src, "sticky"), 0o1777);
    chmodSync(join(src, "private"), 0o700);
    // Times last, directories after their content; "locked" loses its write bit last of all.
    for (const name of readdirSync(src, { recursive: true }) as string[]) {
      names.push(name);
      run(["touch", "-h", "-d", "@1600000000.123456789", join(src, name)]);
    }
    chmodSync(join(src, "locked"), 0o555);
    run(["touch", "-h", "-d", "@1600000000.123456789", join(src, "locked")]);
  });

  test("applyLayer recreates every entry with its type, mode, size, target and mtime", async () => {
    const tarPath = join(scratch(), "t.tar");
    run(["tar", "--format=posix", "-C", src, "-cf", tarPath, "."]);
    const tar = readFileSync(tarPath);
    const { dest } = layerDir();
    const result = await apply(tar, dest);
    expect(result.diffId).toBe(sha256(tar));
    expect(result.size).toBe(tar.length);
    expect(result.skipped).toEqual([]);
    for (const name of names) {
      const want = lstatSync(join(src, name), { bigint: true });
      const got = lstatSync(join(dest, name), { bigint: true });
      expect({ name, mode: got.mode, size: got.size, mtime: got.mtimeNs }).toEqual({ name, mode: want.mode, size: want.size, mtime: want.mtimeNs });
      if (want.isSymbolicLink()) expect(readlinkSync(join(dest, name))).toBe(readlinkSync(join(src, name)));
      if (want.isFile()) expect(readFileSync(join(dest, name)).equals(readFileSync(join(src, name)))).toBe(true);
    }
    expect(lstatSync(join(dest, "hard")).ino).toBe(lstatSync(join(dest, "plain")).ino);
    expect(lstatSync(join(dest, "fifo")).isFIFO()).toBe(true);
    expect(lstatSync(join(dest, "setuid")).mode & 0o7777).toBe(0o4755);
    expect(lstatSync(join(dest, "sticky")).mode & 0o7777).toBe(0o1777);
    // Without `chown`, everything belongs to whoever unpacks: root inside a rootless container.
    expect(lstatSync(join(dest, "plain")).uid).toBe(process.getuid!());
  });
});

describe.skipIf(!hasPython)("applyLayer with PAX and GNU extensions", () => {
  test("applyLayer writes OCI whiteouts as overlayfs whiteouts and opaque directories", async () => {
    const tar = pythonTar(`
add(tf, "etc", type=D, mode=0o755)
add(tf, "etc/.wh.passwd")
add(tf, "var/.wh..wh..opq")
add(tf, "var/keep", b"k")
add(tf, ".wh.toplevel")
add(tf, "same/x", b"mine")
add(tf, "same/.wh.x")
add(tf, ".wh.redone")
add(tf, "redone", type=D, mode=0o755)
add(tf, "redone/new", b"n")
add(tf, ".wh..wh.plnk", type=D)
add(tf, ".wh.implied")
add(tf, "implied/child", b"c")
`);
    const { dest } = layerDir();
    const result = await apply(tar, dest);
    for (const name of ["etc/passwd", "toplevel"]) {
      const st = lstatSync(join(dest, name));
      expect({ name, char: st.isCharacterDevice(), rdev: st.rdev }).toEqual({ name, char: true, rdev: 0 });
    }
    expect(xattr(join(dest, "var"), "user.overlay.opaque")).toBe("y");
    expect(readFileSync(join(dest, "var/keep"), "utf8")).toBe("k");
    // A whiteout hides lower layers only: this layer's own file stays.
    expect(readFileSync(join(dest, "same/x"), "utf8")).toBe("mine");
    // A directory recreated over a whiteout must hide the lower layers' directory.
    expect(lstatSync(join(dest, "redone")).isDirectory()).toBe(true);
    expect(xattr(join(dest, "redone"), "user.overlay.opaque")).toBe("y");
    expect(xattr(join(dest, "implied"), "user.overlay.opaque")).toBe("y");
    expect(readFileSync(join(dest, "implied/child"), "utf8")).toBe("c");
    expect(xattr(join(dest, "etc"), "user.overlay.opaque")).toBeUndefined();
    expect(readdirSync(dest, { recursive: true }).filter((n) => String(n).includes(".wh."))).toEqual([]);
    expect(result.skipped).toEqual(['".wh..wh.plnk/": aufs metadata skipped']);
  });

  test("applyLayer sets binary xattrs after the data and notes those the kernel refuses", async () => {
    // A valid VFS_CAP_REVISION_2 value granting cap_net_raw: the kernel checks the format.
    const cap = "b'\\x01\\x00\\x00\\x02\\x00\\x20' + b'\\x00' * 14";
    const tar = pythonTar(`
add(tf, "ping", b"ELF", mode=0o4755, xattrs={"user.bin": b"\\x00\\xff\\x01", "security.capability": ${cap}, "trusted.t": b"1"})
add(tf, "dir", type=D, mode=0o755, xattrs={"user.d": b"dir"})
add(tf, "sym", type=L, linkname="ping", xattrs={"user.s": b"s"})
add(tf, "forged", b"f", xattrs={"user.overlay.opaque": b"y", "trusted.overlay.redirect": b"/x"})
`);
    const { dest } = layerDir();
    const result = await apply(tar, dest);
    expect(lgetxattr(join(dest, "ping"), "user.bin")).toEqual(new Uint8Array([0, 0xff, 1]));
    expect(xattr(join(dest, "dir"), "user.d")).toBe("dir");
    expect(lstatSync(join(dest, "ping")).mode & 0o7777).toBe(0o4755);
    expect(llistxattr(join(dest, "forged")).filter((n) => n.includes("overlay"))).toEqual([]);
    const notes = new Set(result.skipped);
    expect(notes.has('"forged": xattr "user.overlay.opaque" not set (reserved)')).toBe(true);
    expect(notes.has('"forged": xattr "trusted.overlay.redirect" not set (reserved)')).toBe(true);
    // Linux allows no user.* xattrs on symlinks.
    expect(notes.has('"sym": xattr "user.s" not set (EPERM)')).toBe(true);
    if (isRoot) {
      expect(lgetxattr(join(dest, "ping"), "security.capability")?.length).toBe(20);
      expect(xattr(join(dest, "ping"), "trusted.t")).toBe("1");
    } else {
      expect(notes.has('"ping": xattr "security.capability" not set (EPERM)')).toBe(true);
      expect(notes.has('"ping": xattr "trusted.t" not set (EPERM)')).toBe(true);
    }
  });

  test.skipIf(!isRoot)("applyLayer gives entries the tar's owners with chown, keeping setuid (needs root)", async () => {
    const tar = pythonTar(`
add(tf, "d", type=D, mode=0o750, uid=1234, gid=2345)
add(tf, "d/suid", b"x", mode=0o6755, uid=3000000, gid=3000001)
add(tf, "d/sym", type=L, linkname="suid", uid=77, gid=88)
add(tf, "d/fifo", type=F, mode=0o600, uid=5, gid=6)
`);
    const { dest } = layerDir();
    await apply(tar, dest, { chown: true });
    const own = (p: string) => {
      const st = lstatSync(join(dest, p));
      return [st.uid, st.gid, st.mode & 0o7777];
    };
    expect(own("d")).toEqual([1234, 2345, 0o750]);
    expect(own("d/suid")).toEqual([3000000, 3000001, 0o6755]);
    expect(own("d/sym").slice(0, 2)).toEqual([77, 88]);
    expect(own("d/fifo")).toEqual([5, 6, 0o600]);
  });

  test.skipIf(!isRoot)("applyLayer with chown gives root's entries root's group in a setgid layer directory (needs root)", async () => {
    // Entries of 0:0 need no chown when we create them as 0:0, but in a setgid directory new entries take its group.
    const tar = pythonTar(`
add(tf, "d", type=D, mode=0o755, uid=0, gid=0)
add(tf, "d/f", b"x", uid=0, gid=0)
add(tf, "d/l", type=L, linkname="f", uid=0, gid=0)
`);
    const { dest } = layerDir();
    Bun.spawnSync(["chown", "0:42", dest]);
    chmodSync(dest, 0o2755);
    await apply(tar, dest, { chown: true });
    for (const p of ["d", "d/f", "d/l"]) expect([p, lstatSync(join(dest, p)).gid]).toEqual([p, 0]);
  });

  test.skipIf(!isRoot)("applyLayer with chown gives a directory listed twice the owner of its last entry (needs root)", async () => {
    const tar = pythonTar(`
add(tf, "e", type=D, mode=0o755, uid=1234, gid=2345)
add(tf, "e", type=D, mode=0o755, uid=0, gid=0)
`);
    const { dest } = layerDir();
    await apply(tar, dest, { chown: true });
    const st = lstatSync(join(dest, "e"));
    expect([st.uid, st.gid]).toEqual([0, 0]);
  });

  test("applyLayer without chown keeps every file owned by the current user", async () => {
    const tar = pythonTar(`add(tf, "f", b"x", uid=1234, gid=2345)`);
    const { dest } = layerDir();
    await apply(tar, dest);
    expect(lstatSync(join(dest, "f")).uid).toBe(process.getuid!());
  });

  test("applyLayer creates device nodes only with privilege and notes the rest", async () => {
    const tar = pythonTar(`
add(tf, "dev/null", type=C, devmajor=1, devminor=3, mode=0o666)
add(tf, "dev/sda", type=B, devmajor=8, devminor=0, mode=0o660)
`);
    const { dest } = layerDir();
    const result = await apply(tar, dest);
    if (isRoot) {
      expect(lstatSync(join(dest, "dev/null")).isCharacterDevice()).toBe(true);
      expect(lstatSync(join(dest, "dev/null")).rdev).toBe(0x103);
      expect(lstatSync(join(dest, "dev/sda")).isBlockDevice()).toBe(true);
      expect(result.skipped).toEqual([]);
    } else {
      expect(existsSync(join(dest, "dev/null"))).toBe(false);
      expect(result.skipped).toEqual([
        '"dev/null": character device 1:3 not created (needs privilege)',
        '"dev/sda": block device 8:0 not created (needs privilege)',
      ]);
    }
  });

  test("applyLayer keeps names that are not UTF-8 byte for byte", async () => {
    const tar = pythonTar(`add(tf, raw(b"caf\\xe9"), b"latin1"); add(tf, raw(b"l\\xff"), type=L, linkname=raw(b"caf\\xe9"))`, "GNU");
    const { dest } = layerDir();
    await apply(tar, dest);
    const names = (readdirSync(Buffer.from(dest), { encoding: "buffer" }) as Buffer[]).map((b) => b.toString("hex"));
    expect(names.sort()).toEqual(["636166e9", "6cff"]);
    const link = readlinkSync(Buffer.concat([Buffer.from(`${dest}/`), Buffer.from([0x6c, 0xff])]), { encoding: "buffer" });
    expect([...link]).toEqual([0x63, 0x61, 0x66, 0xe9]);
  });

  test("applyLayer sets exact times on symlinks, before 1970 too", async () => {
    const tar = pythonTar(`add(tf, "old", b"o", mtime=-1000); add(tf, "s", type=L, linkname="old", mtime=1234567890.25)`);
    const { dest } = layerDir();
    await apply(tar, dest);
    expect(lstatSync(join(dest, "old"), { bigint: true }).mtimeNs).toBe(-1000n * 1_000_000_000n);
    expect(lstatSync(join(dest, "s"), { bigint: true }).mtimeNs).toBe(1234567890250000000n);
  });

  test("applyLayer replaces entries as tar does and merges a directory into a directory", async () => {
    const tar = pythonTar(`
add(tf, "a", b"file first")
add(tf, "a", type=D, mode=0o755)
add(tf, "a/b", b"in dir")
add(tf, "d", type=D, mode=0o755)
add(tf, "d/c", b"gone")
add(tf, "d", b"now a file")
add(tf, "dup", b"one")
add(tf, "hl", type=H, linkname="dup")
add(tf, "dup", b"two")
add(tf, "m", type=D, mode=0o755)
add(tf, "m/x", b"x")
add(tf, "m", type=D, mode=0o700)
add(tf, "s", type=L, linkname="elsewhere")
add(tf, "s", b"plain file")
add(tf, "unknown", b"vol", type=b"V")
`);
    const { dest } = layerDir();
    const result = await apply(tar, dest);
    expect(readFileSync(join(dest, "a/b"), "utf8")).toBe("in dir");
    expect(readFileSync(join(dest, "d"), "utf8")).toBe("now a file");
    expect(readFileSync(join(dest, "dup"), "utf8")).toBe("two");
    // The hardlink keeps the inode it was made to, as with GNU tar.
    expect(readFileSync(join(dest, "hl"), "utf8")).toBe("one");
    expect(readFileSync(join(dest, "m/x"), "utf8")).toBe("x");
    expect(lstatSync(join(dest, "m")).mode & 0o7777).toBe(0o700);
    expect(lstatSync(join(dest, "s")).isFile()).toBe(true);
    expect(existsSync(join(dest, "elsewhere"))).toBe(false);
    expect(result.skipped).toEqual(['"unknown": entry of unsupported type "V" skipped']);
  });
});

describe.skipIf(!hasPython)("applyLayer on hostile layers", () => {
  test("applyLayer refuses an entry that climbs out with ..", async () => {
    for (const name of ["../x", "a/../../x", "./../../x", "/../x"]) {
      const { base, dest } = layerDir();
      const err = await applyError(pythonTar(`add(tf, "ok", b"1"); add(tf, "${name}", b"evil")`), dest);
      expect(err.message).toBe(`invalid layer ${LAYER}: entry "${name}" escapes the layer`);
      expect(err.kind).toBe("invalid");
      expectNothingOutside(base);
    }
  });

  test("applyLayer makes absolute and dotted names relative to the layer", async () => {
    const { base, dest } = layerDir();
    await apply(pythonTar(`add(tf, "/abs/file", b"1"); add(tf, "./dot//x/./y", b"2"); add(tf, "p/q/../r", b"3")`), dest);
    expect(readFileSync(join(dest, "abs/file"), "utf8")).toBe("1");
    expect(readFileSync(join(dest, "dot/x/y"), "utf8")).toBe("2");
    expect(readFileSync(join(dest, "p/r"), "utf8")).toBe("3");
    expectNothingOutside(base);
  });

  test("applyLayer never writes through a symlink the layer made", async () => {
    const { base, dest } = layerDir();
    const outside = join(base, "layer");
    for (const [target, next] of [
      [outside, "l/pwned"],
      ["..", "l/pwned"],
      [".", "l/again/x"],
    ] as const) {
      const err = await applyError(pythonTar(`add(tf, "l", type=L, linkname="${target}"); add(tf, "${next}", b"evil")`), dest);
      expect(err.message).toBe(`invalid layer ${LAYER}: entry "${next}" would be written through the symlink "l"`);
      expectNothingOutside(base);
    }
    const viaDir = await applyError(pythonTar(`add(tf, "a/b", type=L, linkname="/tmp"); add(tf, "a/b/c/d", type=D)`), dest);
    expect(viaDir.message).toBe(`invalid layer ${LAYER}: entry "a/b/c/d/" would be written through the symlink "a/b"`);
  });

  test("applyLayer creates a symlink to anywhere as a symlink and does not follow it", async () => {
    const { base, dest } = layerDir();
    await apply(pythonTar(`add(tf, "etc/passwd", type=L, linkname="../../../../../etc/passwd"); add(tf, "etc/passwd", b"replaced")`), dest);
    // The second entry replaces the symlink; it does not write through it.
    expect(lstatSync(join(dest, "etc/passwd")).isFile()).toBe(true);
    const { dest: dest2 } = layerDir();
    await apply(pythonTar(`add(tf, "up", type=L, linkname="../../../../../etc/passwd")`), dest2);
    expect(readlinkSync(join(dest2, "up"))).toBe("../../../../../etc/passwd");
    expectNothingOutside(base);
  });

  test("applyLayer refuses hardlinks that leave the layer or go through a symlink", async () => {
    const { base, dest } = layerDir();
    const secret = join(base, "layer", "secret");
    writeFileSync(secret, "s");
    const cases: [string, string][] = [
      [`add(tf, "h", type=H, linkname="../secret")`, `hardlink "h" to "../secret" escapes the layer`],
      [`add(tf, "h", type=H, linkname="/etc/passwd")`, `hardlink "h" to "/etc/passwd" points at a file not in the layer`],
      [
        `add(tf, "s", type=L, linkname="${join(base, "layer")}"); add(tf, "h", type=H, linkname="s/secret")`,
        `hardlink "h" to "s/secret" goes through the symlink "s"`,
      ],
      [`add(tf, "dir", type=D); add(tf, "h", type=H, linkname="dir")`, `hardlink "h" to "dir" points at a directory`],
    ];
    for (const [body, message] of cases) {
      const err = await applyError(pythonTar(body), dest);
      expect(err.message).toBe(`invalid layer ${LAYER}: ${message}`);
    }
    expect(lstatSync(secret).nlink).toBe(1);
    rmSync(secret);
    expectNothingOutside(base);
  });

  test("applyLayer refuses names with NUL bytes and a non-directory layer root", async () => {
    const { dest } = layerDir();
    const nul = await applyError(pythonTar(`ti = tarfile.TarInfo("x"); ti.pax_headers = {"path": "a\\x00b"}; tf.addfile(ti)`), dest);
    expect(nul.message).toBe(`invalid layer ${LAYER}: entry "a\\u0000b" has a NUL byte in its name`);
    const root = await applyError(pythonTar(`add(tf, "./", b"x")`), dest);
    expect(root.message).toBe(`invalid layer ${LAYER}: entry "./" is the layer root but not a directory`);
  });

  test("applyLayer refuses a file used as a directory", async () => {
    const { dest } = layerDir();
    const err = await applyError(pythonTar(`add(tf, "f", b"x"); add(tf, "f/g", b"y")`), dest);
    expect(err.message).toBe(`invalid layer ${LAYER}: entry "f/g" has "f" in its path, which is not a directory`);
  });
});

describe.skipIf(!hasTar || !hasGzip || !hasZstd)("decompressLayer with applyLayer", () => {
  let tar: Uint8Array;
  let gz: Uint8Array;
  let zst: Uint8Array;
  beforeAll(() => {
    const dir = scratch();
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "src", "a"), "a".repeat(100_000));
    writeFileSync(join(dir, "src", "b"), crypto.getRandomValues(new Uint8Array(50_000)));
    run(["tar", "-C", join(dir, "src"), "-cf", join(dir, "t.tar"), "."]);
    run(["gzip", "-k", join(dir, "t.tar")]);
    run(["zstd", "-q", join(dir, "t.tar")]);
    tar = readFileSync(join(dir, "t.tar"));
    gz = readFileSync(join(dir, "t.tar.gz"));
    zst = readFileSync(join(dir, "t.tar.zst"));
  });

  async function unpack(blob: Uint8Array, mediaType: string): Promise<ApplyLayerResult> {
    const { dest } = layerDir();
    return applyLayer(decompressLayer(streamOf(blob, 1000), mediaType, { name: LAYER }), dest, { name: LAYER });
  }

  async function unpackError(blob: Uint8Array, mediaType: string): Promise<CtrError> {
    try {
      await unpack(blob, mediaType);
    } catch (err) {
      expect(err).toBeInstanceOf(CtrError);
      return err as CtrError;
    }
    throw new Error("expected an error");
  }

  test("decompressLayer gives the same DiffID for plain, gzip and zstd layers", async () => {
    const want = sha256(tar);
    expect((await unpack(tar, MediaType.ociLayer)).diffId).toBe(want);
    expect((await unpack(gz, MediaType.dockerLayerGzip)).diffId).toBe(want);
    expect((await unpack(zst, MediaType.ociLayerZstd)).diffId).toBe(want);
  });

  test("decompressLayer reads the compression from magic bytes when the media type is wrong", async () => {
    const want = sha256(tar);
    expect((await unpack(gz, MediaType.ociLayer)).diffId).toBe(want);
    expect((await unpack(zst, MediaType.ociLayerGzip)).diffId).toBe(want);
    expect((await unpack(tar, MediaType.ociLayerGzip)).diffId).toBe(want);
  });

  test("decompressLayer turns corrupt gzip into a clear error", async () => {
    const bad = Uint8Array.from(gz);
    for (let i = 100; i < 400; i++) bad[i]! ^= 0x5a;
    const err = await unpackError(bad, MediaType.ociLayerGzip);
    expect(err.message).toStartWith(`layer ${LAYER} is corrupt: cannot decompress its gzip data`);
    expect(err.kind).toBe("invalid");
  });

  test("decompressLayer turns a truncated gzip or zstd stream into a clear error", async () => {
    expect((await unpackError(gz.subarray(0, gz.length - 100), MediaType.ociLayerGzip)).message).toBe(`layer ${LAYER} is truncated: the gzip data ends early`);
    expect((await unpackError(zst.subarray(0, zst.length >> 1), MediaType.ociLayerZstd)).message).toBe(`layer ${LAYER} is truncated: the zstd data ends early`);
  });

  test("applyLayer names the byte where a truncated plain tar ends", async () => {
    const err = await unpackError(tar.subarray(0, 5000), MediaType.ociLayer);
    expect(err.message).toBe(`layer ${LAYER} is truncated at byte 5000`);
  });

  test("decompressLayer passes errors of the blob stream through unchanged", async () => {
    const netError = new CtrError("connection reset", { kind: "unavailable" });
    let sent = false;
    const failing = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (!sent) {
          sent = true;
          return ctl.enqueue(gz.subarray(0, 2000));
        }
        ctl.error(netError);
      },
    });
    const { dest } = layerDir();
    expect(applyLayer(decompressLayer(failing, MediaType.ociLayerGzip), dest)).rejects.toBe(netError);
  });

  test("decompressLayer rejects media types that are not layers", () => {
    expect(() => decompressLayer(streamOf(tar), MediaType.ociConfig)).toThrow(`unsupported layer media type "${MediaType.ociConfig}"`);
  });
});

describe("libc bindings", () => {
  test("mknod creates an overlay whiteout without privilege and reports errno names", () => {
    const dir = scratch();
    mknod(join(dir, "wh"), S_IFCHR, 0, 0);
    const st = lstatSync(join(dir, "wh"));
    expect(st.isCharacterDevice() && st.rdev === 0).toBe(true);
    try {
      mknod(join(dir, "missing", "wh"), S_IFCHR);
      throw new Error("expected ENOENT");
    } catch (err) {
      expect(err).toBeInstanceOf(ErrnoError);
      expect((err as ErrnoError).code).toBe("ENOENT");
      expect((err as ErrnoError).message).toStartWith("ENOENT: No such file or directory, mknod '");
    }
  });

  test("lsetxattr and lgetxattr round-trip binary values and report a missing one as undefined", () => {
    const f = join(scratch(), "f");
    writeFileSync(f, "");
    lsetxattr(f, "user.empty", new Uint8Array(0));
    lsetxattr(f, "user.bin", new Uint8Array([0, 1, 255]));
    expect(lgetxattr(f, "user.bin")).toEqual(new Uint8Array([0, 1, 255]));
    expect(lgetxattr(f, "user.empty")).toEqual(new Uint8Array(0));
    expect(lgetxattr(f, "user.none")).toBeUndefined();
    expect(llistxattr(f).filter((n) => n.startsWith("user.")).sort()).toEqual(["user.bin", "user.empty"]);
  });
});

import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTar } from "../unpack/tar-reader.ts";
import { TarWriter } from "./tar-writer.ts";

async function build(fn: (w: TarWriter) => Promise<void>): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  const w = new TarWriter((c) => void chunks.push(c.slice()));
  await fn(w);
  await w.finish();
  return new Uint8Array(Buffer.concat(chunks));
}

test("TarWriter output is read back by GNU tar with names, sizes and contents intact", async () => {
  const long = `${"d".repeat(120)}/${"f".repeat(90)}`;
  const veryLong = "x".repeat(300);
  const bytes = await build(async (w) => {
    await w.addDir("blobs/sha256");
    await w.addFile("manifest.json", new TextEncoder().encode("[]"));
    await w.addFile(long, new Blob(["hello"]).stream(), 5);
    await w.addFile(veryLong, new TextEncoder().encode("x"));
  });
  expect(bytes.length % 512).toBe(0);
  const dir = mkdtempSync(join(tmpdir(), "tarw-"));
  try {
    writeFileSync(join(dir, "a.tar"), bytes);
    const list = Bun.spawnSync(["tar", "-tvf", join(dir, "a.tar")]).stdout.toString();
    expect(list).toContain("blobs/sha256/");
    expect(list).toContain(long);
    expect(list).toContain(veryLong);
    Bun.spawnSync(["tar", "-xf", join(dir, "a.tar"), "-C", dir]);
    expect(readFileSync(join(dir, long), "utf8")).toBe("hello");
    expect(readFileSync(join(dir, "manifest.json"), "utf8")).toBe("[]");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("TarWriter output is read back by ctr's own tar reader", async () => {
  const bytes = await build(async (w) => {
    await w.addFile("a/b.txt", new TextEncoder().encode("abc"));
    await w.addFile("y".repeat(200), new TextEncoder().encode(""));
  });
  const seen: string[] = [];
  for await (const e of readTar(new Blob([bytes]).stream())) {
    let text = "";
    for await (const c of e.data()) text += new TextDecoder().decode(c);
    seen.push(`${e.type}:${e.path}:${text}`);
  }
  expect(seen).toEqual(["file:a/b.txt:abc", `file:${"y".repeat(200)}:`]);
});

test("TarWriter refuses data shorter than the size it announced", async () => {
  const w = new TarWriter(() => {});
  await expect(w.addFile("a", new Blob(["ab"]).stream(), 3)).rejects.toThrow("got 2 bytes of data, expected 3");
});

test("TarWriter.addEntry writes owners, times, symlinks, long link targets and xattrs that readTar reads back", async () => {
  const longTarget = `/${"t".repeat(150)}`;
  const bytes = await build(async (w) => {
    await w.addEntry({ name: "d", type: "dir", mode: 0o750, uid: 1000, gid: 1001, mtime: 1_700_000_000 });
    await w.addEntry({ name: "d/f", type: "file", mode: 0o600, uid: 3_000_000, gid: 5, size: 2, xattrs: new Map([["user.k", new Uint8Array([0, 1, 2])]]) }, new TextEncoder().encode("hi"));
    await w.addEntry({ name: "d/l", type: "symlink", mode: 0o777, linkname: longTarget });
    await w.addEntry({ name: "d/h", type: "hardlink", mode: 0o600, linkname: "d/f" });
  });
  const seen: Record<string, unknown>[] = [];
  for await (const e of readTar(new Blob([bytes]).stream())) {
    let data = "";
    for await (const c of e.data()) data += new TextDecoder().decode(c);
    seen.push({ path: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime.sec, linkpath: e.linkpath, data, xattr: [...(e.xattrs.get("user.k") ?? [])] });
  }
  expect(seen).toEqual([
    { path: "d/", type: "dir", mode: 0o750, uid: 1000, gid: 1001, mtime: 1_700_000_000, linkpath: "", data: "", xattr: [] },
    { path: "d/f", type: "file", mode: 0o600, uid: 3_000_000, gid: 5, mtime: 0, linkpath: "", data: "hi", xattr: [0, 1, 2] },
    { path: "d/l", type: "symlink", mode: 0o777, uid: 0, gid: 0, mtime: 0, linkpath: longTarget, data: "", xattr: [] },
    { path: "d/h", type: "hardlink", mode: 0o600, uid: 0, gid: 0, mtime: 0, linkpath: "d/f", data: "", xattr: [] },
  ]);
});

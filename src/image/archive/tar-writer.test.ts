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

import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContentStore } from "./content-store.ts";

/** A pid that was just alive and is now gone. */
async function deadPid(): Promise<number> {
  const p = Bun.spawn(["true"]);
  await p.exited;
  return p.pid;
}

test("sweepStale removes partial blobs and temporary names of writers that are gone, and nothing else", async () => {
  const root = mkdtempSync(join(tmpdir(), "ctr-content-"));
  try {
    const store = new ContentStore(root);
    const hex = "a".repeat(64);
    const dead = await deadPid();
    mkdirSync(join(root, "blobs", "ingest"), { recursive: true });
    mkdirSync(join(root, "blobs", "sha256"), { recursive: true });
    const files = {
      deadIngest: join(root, "blobs", "ingest", `${hex}-${dead}-abc123`),
      liveIngest: join(root, "blobs", "ingest", `${hex}-${process.pid}-abc123`),
      deadTmp: join(root, "blobs", "sha256", `${hex}.tmp-${dead}-x1y2z3`),
      blob: join(root, "blobs", "sha256", hex),
      deadIndexTmp: join(root, `images.json.tmp-${dead}-q9w8e7`),
      index: join(root, "images.json"),
    };
    for (const f of Object.values(files)) writeFileSync(f, "x");
    store.sweepStale();
    expect(readdirSync(join(root, "blobs", "ingest"))).toEqual([`${hex}-${process.pid}-abc123`]);
    expect(readdirSync(join(root, "blobs", "sha256"))).toEqual([hex]);
    expect(readdirSync(root).sort()).toEqual(["blobs", "images.json"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

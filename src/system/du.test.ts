import { expect, test } from "bun:test";
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { diskUsage } from "./du.ts";

test("diskUsage counts as du -sb: directories, symlinks, a hard link once", () => {
  const dir = mkdtempSync(join(tmpdir(), "ctr-du-"));
  try {
    mkdirSync(join(dir, "a", "b"), { recursive: true });
    writeFileSync(join(dir, "a", "f"), "x".repeat(12345));
    writeFileSync(join(dir, "a", "b", "g"), "y".repeat(777));
    linkSync(join(dir, "a", "f"), join(dir, "a", "b", "f-again"));
    symlinkSync("../some/where/far", join(dir, "a", "link"));
    const du = Bun.spawnSync(["du", "-sb", dir]).stdout.toString();
    expect(diskUsage(dir)).toBe(Number(du.split("\t")[0]));
    expect(diskUsage(join(dir, "missing"))).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { holderPids } from "./reset.ts";

test("holderPids finds the network helpers' pid files, and nothing else", () => {
  const dir = mkdtempSync(join(tmpdir(), "ctr-reset-"));
  try {
    mkdirSync(join(dir, "net1"));
    mkdirSync(join(dir, "net2"));
    writeFileSync(join(dir, "net1", "holder.pid"), "1234\n");
    writeFileSync(join(dir, "net1", "slirp.pid"), "1235");
    writeFileSync(join(dir, "net2", "holder.pid"), "garbage");
    writeFileSync(join(dir, "net2", "other.pid"), "99");
    expect(holderPids(dir).sort()).toEqual([1234, 1235]);
    expect(holderPids(join(dir, "missing"))).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

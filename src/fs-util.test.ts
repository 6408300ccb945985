import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withLock } from "./fs-util.ts";

test("withLock takes over an empty lock file left by a taker killed before it wrote its pid", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ctr-lock-"));
  try {
    const lock = join(dir, "images.lock");
    writeFileSync(lock, "");
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    // Without the takeover this waits 60 s for the lock and fails.
    expect(await withLock(lock, () => "held")).toBe("held");
    expect(existsSync(lock)).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

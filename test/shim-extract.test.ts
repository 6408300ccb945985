/** The shim's copy under the store: extracted once, and a copy half-written by a killed ctr does not stay. */
import { expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ctr, newStore } from "./helpers.ts";

test("a shim copy left half-written by a killed ctr is removed at the next extraction", async () => {
  await using store = await newStore();
  const dir = join(store.dataDir, "shim");
  mkdirSync(dir, { recursive: true });
  // pid 2^22 + 1 is above pid_max's ceiling: no process can have it.
  const leftover = "ctr-shim-0123abcd.tmp-4194305";
  writeFileSync(join(dir, leftover), "half");
  const r = await ctr(["run", "--rm", "--network", "none", "alpine", "true"], { store });
  expect(r.code).toBe(0);
  const names = readdirSync(dir);
  expect(names).not.toContain(leftover);
  expect(names.filter((n) => /^ctr-shim-[0-9a-f]+$/.test(n))).toHaveLength(1);
});

/** ctr finds the user's subordinate ids by uid, whatever the environment says (cron, `env -i`, services). */
import { expect, test } from "bun:test";
import { ctr, newStore } from "./helpers.ts";

test("without USER in the environment, a container still gets the user's subordinate ids", async () => {
  await using store = await newStore();
  const r = await ctr(["run", "--rm", "--network", "none", "alpine", "cat", "/proc/self/uid_map"], { store, env: { USER: undefined, LOGNAME: undefined } });
  expect(r.code).toBe(0);
  // Root alone would be one line; the user's ranges add one line each.
  const lines = r.stdout.trim().split("\n");
  expect(lines.length).toBeGreaterThan(1);
  expect(lines[0]!.trim().split(/\s+/)).toEqual(["0", String(process.getuid!()), "1"]);
});

import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lsetxattr } from "../../host/libc.ts";
import { upperChanges } from "./layer-diff.ts";
import { MergedView } from "./merged-view.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Lower layer `a/{x,y}`, `b/z`, `keep`; upper deletes `a/x` and `keep` (xattr whiteouts), makes `b` opaque with `b/new`. */
function layers(): { lower: string; upper: string } {
  const root = mkdtempSync(join(tmpdir(), "merged-"));
  dirs.push(root);
  const lower = join(root, "lower");
  const upper = join(root, "upper");
  for (const d of ["a", "b"]) mkdirSync(join(lower, d), { recursive: true });
  writeFileSync(join(lower, "a", "x"), "x");
  writeFileSync(join(lower, "a", "y"), "y");
  writeFileSync(join(lower, "b", "z"), "z");
  writeFileSync(join(lower, "keep"), "k");
  mkdirSync(join(upper, "a"), { recursive: true });
  mkdirSync(join(upper, "b"));
  for (const w of [join(upper, "a", "x"), join(upper, "keep")]) {
    writeFileSync(w, "");
    lsetxattr(w, "user.overlay.whiteout", new Uint8Array(0));
  }
  lsetxattr(join(upper, "b"), "user.overlay.opaque", new TextEncoder().encode("y"));
  writeFileSync(join(upper, "b", "new"), "n");
  return { lower, upper };
}

test("MergedView hides whited-out files and everything under an opaque directory", () => {
  const { lower, upper } = layers();
  const view = new MergedView([lower, upper]);
  expect([...view.walk()].map((n) => n.rel)).toEqual(["", "a", "a/y", "b", "b/new"]);
  expect(view.lookup("a/x")).toBeUndefined();
  expect(view.lookup("b/z")).toBeUndefined();
  expect(view.lookup("a/y")?.path).toBe(join(lower, "a", "y"));
});

test("upperChanges reports whiteouts and an opaque directory's hidden files as deleted", () => {
  const { lower, upper } = layers();
  expect(upperChanges(upper, [lower]).map((c) => `${c.kind} ${c.path}`)).toEqual(["C /a", "D /a/x", "C /b", "A /b/new", "D /b/z", "D /keep"]);
});

test("MergedView.resolve follows symlinks inside the view, never above its root", () => {
  const { lower, upper } = layers();
  symlinkSync("/a", join(lower, "abs"));
  symlinkSync("../../../a", join(upper, "b", "up"));
  symlinkSync("loop", join(lower, "loop"));
  const view = new MergedView([lower, upper]);
  expect(view.resolve("abs/y")).toBe("a/y");
  expect(view.resolve("b/up/y")).toBe("a/y");
  expect(view.resolve("abs")).toBe("abs");
  expect(view.resolve("abs", true)).toBe("a");
  expect(view.resolve("loop/x")).toBeUndefined();
});

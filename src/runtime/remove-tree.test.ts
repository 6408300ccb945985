import { afterEach, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeTree } from "./remove-tree.ts";

const saved = process.env.CTR_SHIM;
afterEach(() => {
  if (saved === undefined) delete process.env.CTR_SHIM;
  else process.env.CTR_SHIM = saved;
});

// As root nothing denies access; the test user is the case that matters.
test.skipIf(process.getuid?.() === 0)("removeTree opens the user's own mode-000 directories (overlayfs's work/work) without a user namespace", async () => {
  const root = mkdtempSync(join(tmpdir(), "ctr-rmtree-test-"));
  try {
    const tree = join(root, "container");
    mkdirSync(join(tree, "work", "work", "inner"), { recursive: true });
    writeFileSync(join(tree, "work", "work", "inner", "f"), "x");
    chmodSync(join(tree, "work", "work", "inner"), 0o000);
    chmodSync(join(tree, "work", "work"), 0o000);
    // A shim that cannot run: reaching the user-namespace fallback fails the test.
    process.env.CTR_SHIM = join(root, "no-such-shim");
    await removeTree(root, tree);
    expect(existsSync(tree)).toBe(false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

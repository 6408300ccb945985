import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCertsD } from "./certs-d.ts";

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "certs-d-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test("loadCertsD reads every .crt and the .cert/.key pair of the first root holding the registry", () => {
  const a = tree({ "other:1/ca.crt": "A" });
  const b = tree({ "reg:5000/ca.crt": "CA1", "reg:5000/extra.crt": "CA2", "reg:5000/client.cert": "C", "reg:5000/client.key": "K" });
  const c = tree({ "reg:5000/ca.crt": "LATER" });
  try {
    expect(loadCertsD("reg:5000", {}, [a, b, c])).toEqual({ dir: join(b, "reg:5000"), ca: ["CA1", "CA2"], cert: "C", key: "K" });
    expect(loadCertsD("nowhere:1", {}, [a, b, c])).toBeUndefined();
  } finally {
    for (const r of [a, b, c]) rmSync(r, { recursive: true });
  }
});

test("loadCertsD refuses a client certificate without its key", () => {
  const a = tree({ "reg/client.cert": "C" });
  try {
    expect(() => loadCertsD("reg", {}, [a])).toThrow(/has no matching key client\.key/);
  } finally {
    rmSync(a, { recursive: true });
  }
});

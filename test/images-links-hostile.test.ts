/**
 * Pulled layers whose symlinks or hardlinks would make ctr write or link
 * outside the layer: each pull is refused with exit 125, nothing appears
 * outside, and the store stays byte-for-byte as it was. The tars are written
 * here header by header (ustar, POSIX.1-1988) and pushed with fetch.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { ctr, ctrOk, newStore, REGISTRY, type TestStore } from "./helpers.ts";
import { sha256, putBlob, putManifest } from "./registry-push.ts";

const enc = new TextEncoder();
const REPO = `ctrtest/hostile-links-${process.pid}`;
/** A name no one else uses: an escaped write would create `/tmp/<MARK>`. */
const MARK = `ctr-pwned-${process.pid}`;

type Entry = { name: string; type: "file"; data: string } | { name: string; type: "dir" } | { name: string; type: "symlink" | "hardlink"; target: string };

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, "0")}\0`;
}

function header(e: Entry, size: number): Uint8Array {
  const h = new Uint8Array(512);
  const put = (at: number, text: string) => h.set(enc.encode(text), at);
  put(0, e.name);
  put(100, octal(e.type === "dir" ? 0o755 : 0o644, 8));
  put(108, octal(0, 8));
  put(116, octal(0, 8));
  put(124, octal(size, 12));
  put(136, octal(0, 12));
  put(148, "        ");
  put(156, { file: "0", dir: "5", symlink: "2", hardlink: "1" }[e.type]);
  if (e.type === "symlink" || e.type === "hardlink") put(157, e.target);
  put(257, "ustar\0");
  put(263, "00");
  put(148, `${h.reduce((a, b) => a + b, 0).toString(8).padStart(6, "0")}\0 `);
  return h;
}

function tar(entries: Entry[]): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = e.type === "file" ? enc.encode(e.data) : new Uint8Array(0);
    parts.push(header(e, data.length), data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  return new Uint8Array(Buffer.concat(parts));
}

async function pushLayer(tag: string, entries: Entry[]): Promise<void> {
  const layer = tar(entries);
  const gz = new Uint8Array(Bun.gzipSync(layer));
  const config = enc.encode(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(layer)] } }));
  const manifest = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: await putBlob(REPO, config), size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: await putBlob(REPO, gz), size: gz.length }],
  }));
  await putManifest(REPO, tag, manifest);
}

const CASES: Record<string, { entries: Entry[]; says: RegExp }> = {
  "symlink-up": {
    entries: [{ name: "evil", type: "symlink", target: "../../../../../../../../tmp" }, { name: `evil/${MARK}`, type: "file", data: "x" }],
    says: /through the symlink "?evil/,
  },
  "symlink-absolute": {
    entries: [{ name: "abs", type: "symlink", target: "/tmp" }, { name: `abs/${MARK}`, type: "file", data: "x" }],
    says: /through the symlink "?abs/,
  },
  "symlink-chain": {
    entries: [{ name: "up", type: "symlink", target: ".." }, { name: `up/up/up/up/up/up/up/up/tmp/${MARK}`, type: "file", data: "x" }],
    says: /through the symlink "?up/,
  },
  "hardlink-up": {
    entries: [{ name: "hl", type: "hardlink", target: "../../../../../../../../etc/passwd" }],
    says: /hl.*(escapes the layer|not in the layer)/,
  },
  "hardlink-absolute": {
    entries: [{ name: "hl", type: "hardlink", target: "/etc/passwd" }],
    says: /hl.*(escapes the layer|not in the layer)/,
  },
  "hardlink-through-symlink": {
    entries: [{ name: "etc", type: "symlink", target: "/etc" }, { name: "hl", type: "hardlink", target: "etc/passwd" }],
    says: /hl/,
  },
};

/** Not refused: as with tar, a directory entry replaces the symlink, and the file lands inside the layer. */
const DIR_OVER_SYMLINK: Entry[] = [{ name: "d", type: "symlink", target: "/tmp" }, { name: "d/", type: "dir" }, { name: `d/${MARK}`, type: "file", data: "x" }];

let store: TestStore;

beforeAll(async () => {
  store = await newStore();
  await ctrOk(["pull", "-q", `${REGISTRY}/library/alpine`], { store });
  for (const [tag, c] of Object.entries(CASES)) await pushLayer(tag, c.entries);
  await pushLayer("dir-over-symlink", DIR_OVER_SYMLINK);
});

afterAll(async () => {
  await store.cleanup();
  for (const tag of [...Object.keys(CASES), "dir-over-symlink"]) {
    const head = await fetch(`http://${REGISTRY}/v2/${REPO}/manifests/${tag}`, { method: "HEAD", headers: { Accept: "application/vnd.oci.image.manifest.v1+json" } });
    const digest = head.headers.get("docker-content-digest");
    if (digest) await fetch(`http://${REGISTRY}/v2/${REPO}/manifests/${digest}`, { method: "DELETE" });
  }
});

describe("a pulled layer whose links lead outside it is refused, store unchanged", () => {
  for (const [tag, c] of Object.entries(CASES)) {
    test(tag, async () => {
      const before = store.snapshot();
      const r = await ctr(["pull", `${REGISTRY}/${REPO}:${tag}`], { store });
      expect(r.code).toBe(125);
      const errors = r.stderr.split("\n").filter((l) => l.startsWith("Error:"));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(c.says);
      expect(store.snapshot()).toEqual(before);
      expect(existsSync(`/tmp/${MARK}`)).toBe(false);
    });
  }
});

test("a directory entry over a symlink replaces the symlink; nothing is written through it", async () => {
  await using fresh = await newStore();
  await ctrOk(["pull", "-q", `${REGISTRY}/${REPO}:dir-over-symlink`], { store: fresh });
  const tree = fresh.snapshot();
  expect(tree.filter((p) => p.endsWith("/diff/d/"))).toHaveLength(1);
  expect(tree.filter((p) => p.endsWith(`/diff/d/${MARK}`))).toHaveLength(1);
  expect(existsSync(`/tmp/${MARK}`)).toBe(false);
});

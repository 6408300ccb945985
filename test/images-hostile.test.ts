/**
 * Hostile and broken images pulled from the real local registry: each is a
 * clear error, exit 125, and the store byte-for-byte as it was. The images
 * are built here, byte by byte, and pushed with fetch.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TarWriter } from "../src/image/archive/tar-writer.ts";
import { ctr, ctrOk, newStore, REGISTRY, type TestStore } from "./helpers.ts";
import { sha256, putBlob, putManifest } from "./registry-push.ts";

const enc = new TextEncoder();
const REPO = `ctrtest/hostile-${process.pid}`;

async function tarOf(entries: [string, string][]): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  const w = new TarWriter((c) => void chunks.push(c.slice()));
  for (const [name, data] of entries) await w.addFile(name, enc.encode(data));
  await w.finish();
  return new Uint8Array(Buffer.concat(chunks));
}

/** Pushes an image whose single layer blob is `blob` and whose config claims `diffId`; `layerSize` may lie. */
async function pushImage(tag: string, blob: Uint8Array<ArrayBuffer>, diffId: string, layerSize = blob.length, layerType = "application/vnd.oci.image.layer.v1.tar+gzip"): Promise<void> {
  const config = enc.encode(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [diffId] } }));
  const configDigest = await putBlob(REPO, config);
  const layerDigest = await putBlob(REPO, blob);
  const manifest = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
    layers: [{ mediaType: layerType, digest: layerDigest, size: layerSize }],
  }));
  await putManifest(REPO, tag, manifest);
}

let store: TestStore;

beforeAll(async () => {
  store = await newStore();
  await ctrOk(["pull", "-q", "alpine"], { store });
  const dotdot = await tarOf([["ok.txt", "fine"], ["../../escape.txt", "out"]]);
  await pushImage("dotdot", Bun.gzipSync(dotdot), sha256(dotdot));
  const absolute = await tarOf([["/etc/evil", "x"]]);
  await pushImage("absolute", Bun.gzipSync(absolute), sha256(absolute));
  const good = await tarOf([["a.txt", "a".repeat(5000)]]);
  const gz = Bun.gzipSync(good);
  await pushImage("truncated", gz.slice(0, gz.length - 20), sha256(good));
  const corrupt = gz.slice();
  corrupt[Math.floor(corrupt.length / 2)]! ^= 0xff;
  await pushImage("corrupt", corrupt, sha256(good));
  await pushImage("wrong-diffid", gz, `sha256:${"a".repeat(64)}`);
  await pushImage("wrong-size", gz, sha256(good), gz.length + 100);
  const zstdType = "application/vnd.oci.image.layer.v1.tar+zstd";
  const zst = new Uint8Array(Bun.zstdCompressSync(good));
  await pushImage("zstd-truncated", zst.slice(0, zst.length - 20), sha256(good), undefined, zstdType);
  const zstCorrupt = zst.slice();
  zstCorrupt[Math.floor(zstCorrupt.length / 2)]! ^= 0xff;
  await pushImage("zstd-corrupt", zstCorrupt, sha256(good), undefined, zstdType);
});

const TAGS = ["dotdot", "absolute", "truncated", "corrupt", "wrong-diffid", "wrong-size", "zstd-truncated", "zstd-corrupt"];

afterAll(async () => {
  await store.cleanup();
  // The registry is shared: take this run's manifests out again.
  for (const tag of TAGS) {
    const head = await fetch(`http://${REGISTRY}/v2/${REPO}/manifests/${tag}`, { method: "HEAD", headers: { Accept: "application/vnd.oci.image.manifest.v1+json" } });
    const digest = head.headers.get("docker-content-digest");
    if (digest) await fetch(`http://${REGISTRY}/v2/${REPO}/manifests/${digest}`, { method: "DELETE" });
  }
});

async function expectRefused(args: string[], message: string | RegExp): Promise<void> {
  const before = store.snapshot();
  const r = await ctr(args, { store });
  expect(r.code).toBe(125);
  if (typeof message === "string") expect(r.stderr).toContain(message);
  else expect(r.stderr).toMatch(message);
  expect(store.snapshot()).toEqual(before);
}

describe("a hostile or broken pull leaves the store unchanged", () => {
  test("a layer with a ../ path", () => expectRefused(["pull", `${REGISTRY}/${REPO}:dotdot`], /escape/));
  test("a layer with an absolute path writes inside the layer, as docker and containerd read it", async () => {
    await using fresh = await newStore();
    await ctrOk(["pull", "-q", `${REGISTRY}/${REPO}:absolute`], { store: fresh });
    expect(fresh.snapshot().filter((p) => p.endsWith("/diff/etc/evil"))).toHaveLength(1);
    expect(await Bun.file("/etc/evil").exists()).toBe(false);
  });
  test("a truncated gzip layer", () => expectRefused(["pull", `${REGISTRY}/${REPO}:truncated`], `${REPO}:truncated`));
  test("a corrupt gzip layer", () => expectRefused(["pull", `${REGISTRY}/${REPO}:corrupt`], `${REPO}:corrupt`));
  test("a truncated zstd layer", () => expectRefused(["pull", `${REGISTRY}/${REPO}:zstd-truncated`], "is truncated: the zstd data ends early"));
  // Without a frame checksum a flipped byte may still decode: then the diff_id check is what catches it.
  test("a corrupt zstd layer", () => expectRefused(["pull", `${REGISTRY}/${REPO}:zstd-corrupt`], /zstd|does not match the config's diff_id/));
  test("a layer whose content does not match the config's diff_id", () => expectRefused(["pull", `${REGISTRY}/${REPO}:wrong-diffid`], "does not match the config's diff_id"));
  test("a layer shorter than its descriptor says", () => expectRefused(["pull", `${REGISTRY}/${REPO}:wrong-size`], "truncated"));
  test("a tag the registry does not have (404)", () => expectRefused(["pull", `${REGISTRY}/${REPO}:no-such-tag`], "not found"));
  test("a manifest digest the registry does not have", () => expectRefused(["pull", `${REGISTRY}/${REPO}@sha256:${"0".repeat(64)}`], "not found"));
  test("an upper-case repository name", () => expectRefused(["pull", "UPPER/Case"], 'invalid reference "UPPER/Case": repository name must be lowercase'));
  test("a reference with two tags", () => expectRefused(["pull", "a:b:c"], 'invalid reference "a:b:c"'));
});

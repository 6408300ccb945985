/** save → load → run round trips in both archive formats, and loads that must change nothing. */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TarWriter } from "../src/image/archive/tar-writer.ts";
import { ctr, ctrOk, newStore, REGISTRY, type TestStore } from "./helpers.ts";

const LAYERED = `${REGISTRY}/ctrtest/layered:latest`;

async function tarBytes(entries: [string, Uint8Array][]): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const w = new TarWriter((c) => void chunks.push(c.slice()));
  for (const [name, data] of entries) await w.addFile(name, data);
  await w.finish();
  return new Uint8Array(Buffer.concat(chunks));
}

async function listTar(path: string): Promise<string[]> {
  return (await Bun.$`tar -tf ${path}`.text()).split("\n").filter(Boolean);
}

async function registryConfig(repo: string): Promise<{ rootfs: { diff_ids: string[] } }> {
  const m = await (await fetch(`http://${REGISTRY}/v2/${repo}/manifests/latest`, { headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" } })).json();
  return (await fetch(`http://${REGISTRY}/v2/${repo}/blobs/${m.config.digest}`)).json();
}

async function seeded(): Promise<TestStore> {
  const store = await newStore();
  await ctrOk(["pull", "-q", "alpine"], { store });
  await ctrOk(["pull", "-q", LAYERED], { store });
  return store;
}

describe("save and load", () => {
  test("docker-archive: two images in one file, loaded into an empty store, run", async () => {
    await using src = await seeded();
    await using dst = await newStore();
    const archive = join(src.root, "images.tar");
    await ctrOk(["save", "-o", archive, "alpine", LAYERED], { store: src });
    const config = await registryConfig("ctrtest/layered");
    const members = await listTar(archive);
    expect(members).toContain("manifest.json");
    for (const d of config.rootfs.diff_ids) expect(members).toContain(`${d.slice(7)}/layer.tar`);
    const manifest = JSON.parse(await Bun.$`tar -xOf ${archive} manifest.json`.text());
    expect(manifest.map((m: { RepoTags: string[] }) => m.RepoTags)).toEqual([["docker.io/library/alpine:latest"], [LAYERED]]);
    // each layer.tar is the uncompressed layer: its sha256 is the DiffID
    const first = config.rootfs.diff_ids[1]!;
    const layerTar = await Bun.$`tar -xOf ${archive} ${first.slice(7)}/layer.tar`.arrayBuffer();
    expect(`sha256:${new Bun.CryptoHasher("sha256").update(layerTar).digest("hex")}`).toBe(first);

    const r = await ctrOk(["load", "-i", archive], { store: dst });
    expect(r.stdout).toBe(`Loaded image: docker.io/library/alpine:latest\nLoaded image: ${LAYERED}\n`);
    const ids = (s: TestStore) => ctrOk(["images", "--no-trunc", "-q"], { store: s }).then((x) => x.stdout.split("\n").sort());
    expect(await ids(dst)).toEqual(await ids(src));
    const run = await ctr(["run", "--rm", "--pull=never", LAYERED, "ls", "/opt/data"], { store: dst });
    expect(run).toMatchObject({ code: 0, stdout: "c.txt\n" });
  });

  test("oci-archive: saved with --format, loaded from stdin, run", async () => {
    await using src = await seeded();
    await using dst = await newStore();
    const archive = join(src.root, "images.oci.tar");
    await ctrOk(["image", "save", "--format", "oci-archive", "-o", archive, LAYERED, "alpine"], { store: src });
    const members = await listTar(archive);
    expect(members).toContain("oci-layout");
    expect(members).toContain("index.json");
    const index = JSON.parse(await Bun.$`tar -xOf ${archive} index.json`.text());
    expect(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations["io.containerd.image.name"])).toEqual([LAYERED, "docker.io/library/alpine:latest"]);
    for (const m of index.manifests) expect(members).toContain(`blobs/sha256/${m.digest.slice(7)}`);

    const r = await ctrOk(["load"], { store: dst, stdin: readFileSync(archive) });
    expect(r.stdout).toBe(`Loaded image: ${LAYERED}\nLoaded image: docker.io/library/alpine:latest\n`);
    const run = await ctr(["run", "--rm", "--pull=never", "alpine", "echo", "loaded"], { store: dst });
    expect(run).toMatchObject({ code: 0, stdout: "loaded\n" });
    // the manifest kept its digest, so the layered image's layers are the same blobs
    const inspect = JSON.parse((await ctrOk(["image", "inspect", LAYERED], { store: dst })).stdout)[0];
    expect(inspect.Digest).toBe(index.manifests[0].digest);
  });

  test("save of an unknown image fails with exit 125 and writes no file", async () => {
    await using src = await seeded();
    const archive = join(src.root, "nothing.tar");
    const r = await ctr(["save", "-o", archive, "alpine", "no-such-image"], { store: src });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("no-such-image: image not known");
    expect(existsSync(archive)).toBe(false);
  });

  test("save refuses an unknown --format", async () => {
    await using src = await newStore();
    const r = await ctr(["save", "--format", "oci-dir", "-o", join(src.root, "x"), "alpine"], { store: src });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('invalid value "oci-dir" for --format');
  });
});

describe("load of a bad archive leaves the store unchanged", () => {
  async function expectRefused(archive: Uint8Array, message: string): Promise<void> {
    await using store = await seeded();
    const before = store.snapshot();
    const path = join(store.root, "bad.tar");
    writeFileSync(path, archive);
    const r = await ctr(["load", "-i", path], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain(message);
    expect(store.snapshot()).toEqual(before);
  }

  test("a member named ../x", async () => {
    await expectRefused(await tarBytes([["../escape", new TextEncoder().encode("x")]]), 'archive entry "../escape" points outside the archive');
  });

  test("a layer whose content does not match the config's diff_id", async () => {
    const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [`sha256:${"0".repeat(64)}`] } }));
    const layer = await tarBytes([["hello.txt", new TextEncoder().encode("hello")]]);
    const manifest = new TextEncoder().encode(JSON.stringify([{ Config: "c.json", RepoTags: ["evil:1"], Layers: ["l/layer.tar"] }]));
    await expectRefused(await tarBytes([["manifest.json", manifest], ["c.json", config], ["l/layer.tar", layer]]), "does not match the config's diff_id");
  });

  test("an oci-archive blob whose bytes do not match its digest", async () => {
    const fake = `sha256:${"1".repeat(64)}`;
    const index = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: fake, size: 2 }] }));
    await expectRefused(await tarBytes([["oci-layout", new TextEncoder().encode('{"imageLayoutVersion":"1.0.0"}')], ["index.json", index], [`blobs/sha256/${"1".repeat(64)}`, new TextEncoder().encode("{}")]]), "does not match its descriptor");
  });

  test("a file that is not a tar archive", async () => {
    await expectRefused(new TextEncoder().encode("this is not a tar archive at all, but long enough to fill a header block?".repeat(10)), "loading archive");
  });
});

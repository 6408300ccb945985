/**
 * Builds the test images from Debian packages and pushes them to the local
 * registry over the distribution API, so the end-to-end tests pull real
 * images without leaving the machine.
 *
 * Images (all linux, host architecture):
 * - `library/busybox:latest`, `library/alpine:latest`: one layer holding
 *   busybox-static with a symlink per applet in /bin, a few users, /tmp 1777.
 *   Docker schema 2 manifest, gzip layer.
 * - `library/busybox:oci-index`: the same layer and config behind an OCI image
 *   manifest, wrapped in an OCI image index with a single entry for this
 *   platform.
 * - `ctrtest/layered:latest`: busybox plus two layers that add files, then
 *   remove some with a whiteout and an opaque directory. After unpacking,
 *   /opt/data holds only c.txt and /etc/motd is gone.
 *
 * Layers are GNU tar archives with fixed owners, order and mtimes, compressed
 * with `gzip -n`, so every run produces the same bytes and digests. Blobs the
 * registry already has are skipped (HEAD), and so are manifests whose tag
 * already points at the same digest, so a second run writes nothing.
 *
 * Usage: `bun scripts/seed-images.ts` (CTR_TEST_REGISTRY, default
 * 127.0.0.1:5055).
 */
import { mkdtempSync, mkdirSync, chmodSync, symlinkSync, writeFileSync, readFileSync, rmSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const REGISTRY = process.env.CTR_TEST_REGISTRY || "127.0.0.1:5055";
const BASE = `http://${REGISTRY}`;
const EPOCH = "1970-01-01T00:00:00Z";
const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const MT = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

/** One member of a layer tar. Paths are relative, without a leading slash. */
type Entry =
  | { path: string; type: "dir"; mode: number; uid?: number; gid?: number }
  | { path: string; type: "file"; mode: number; content: string | Uint8Array; uid?: number; gid?: number }
  | { path: string; type: "symlink"; target: string };

/** Bytes that fetch accepts as a body. */
type Bytes = Uint8Array<ArrayBuffer>;

interface Layer {
  /** gzip-compressed tar, the blob. */
  readonly blob: Bytes;
  readonly digest: string;
  /** sha256 of the uncompressed tar, for rootfs.diff_ids. */
  readonly diffId: string;
  readonly createdBy: string;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
}

class SeedError extends Error {}

function sha256(data: Uint8Array | string): string {
  return "sha256:" + new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

function run(cmd: string[], cwd?: string): Bytes {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    throw new SeedError(`${cmd.join(" ")} failed (exit ${r.exitCode}): ${r.stderr.toString().trim()}`);
  }
  return new Uint8Array(r.stdout);
}

function goArch(): string {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  const arch = map[process.arch];
  if (!arch) throw new SeedError(`unsupported host architecture "${process.arch}"`);
  return arch;
}

/**
 * Writes the entries into a scratch directory and archives them with GNU tar
 * in sorted order. Owners are forced per run of same-owner entries (tar has
 * one --owner per invocation), and the runs are concatenated: with a 512-byte
 * record size each archive ends in exactly two zero blocks, which are cut
 * from all but the last.
 */
function buildLayer(entries: Entry[], createdBy: string): Layer {
  const scratch = mkdtempSync(join(tmpdir(), "ctr-seed-"));
  try {
    const root = join(scratch, "root");
    mkdirSync(root);
    const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const e of sorted) {
      const p = join(root, e.path);
      mkdirSync(dirname(p), { recursive: true });
      if (e.type === "dir") {
        mkdirSync(p, { recursive: true });
        chmodSync(p, e.mode);
      } else if (e.type === "file") {
        writeFileSync(p, e.content);
        chmodSync(p, e.mode);
      } else {
        symlinkSync(e.target, p);
      }
    }
    // Modes of implied parents are whatever mkdir gave them; every parent
    // that ends up in the tar is listed explicitly, so chmod those again.
    for (const e of sorted) if (e.type === "dir") chmodSync(join(root, e.path), e.mode);

    const runs: { owner: string; paths: string[] }[] = [];
    for (const e of sorted) {
      const owner = e.type === "symlink" ? "0:0" : `${e.uid ?? 0}:${e.gid ?? 0}`;
      const last = runs.at(-1);
      if (last && last.owner === owner) last.paths.push(e.path);
      else runs.push({ owner, paths: [e.path] });
    }
    const parts: Uint8Array[] = runs.map((r, i) => {
      const [uid, gid] = r.owner.split(":");
      const list = join(scratch, `list-${i}`);
      writeFileSync(list, r.paths.join("\n") + "\n");
      const out = join(scratch, `part-${i}.tar`);
      run(
        [
          "tar", "--create", "--format=gnu", "--record-size=512", "--no-recursion",
          "--numeric-owner", `--owner=${uid}`, `--group=${gid}`, "--sort=name", "--mtime=@0",
          "-f", out, "-T", list,
        ],
        root,
      );
      const bytes = readFileSync(out);
      return i === runs.length - 1 ? bytes : bytes.subarray(0, bytes.length - 1024);
    });
    const tarPath = join(scratch, "layer.tar");
    writeFileSync(tarPath, Buffer.concat(parts));
    const tar = readFileSync(tarPath);
    const blob = run(["gzip", "-n", "-6", "-c", tarPath]);
    return { blob, digest: sha256(blob), diffId: sha256(tar), createdBy };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function dir(path: string, mode = 0o755, uid = 0, gid = 0): Entry {
  return { path, type: "dir", mode, uid, gid };
}

function file(path: string, content: string | Uint8Array, mode = 0o644): Entry {
  return { path, type: "file", mode, content };
}

function busyboxLayer(): Layer {
  const version = new TextDecoder().decode(run(["dpkg-query", "-W", "-f=${Version}", "busybox-static"])).trim();
  const applets = new TextDecoder()
    .decode(run(["/bin/busybox", "--list"]))
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s && s !== "busybox" && !s.includes("/"));
  const entries: Entry[] = [
    dir("bin"), dir("dev"), dir("etc"), dir("home"), dir("home/app", 0o755, 1000, 1000),
    dir("proc"), dir("root", 0o700), dir("run"), dir("sys"), dir("tmp", 0o1777),
    dir("usr"), dir("usr/bin"), dir("usr/sbin"), dir("var"), dir("var/tmp", 0o1777),
    { path: "bin/busybox", type: "file", mode: 0o755, content: readFileSync("/bin/busybox") },
    ...applets.map((a): Entry => ({ path: `bin/${a}`, type: "symlink", target: "busybox" })),
    file(
      "etc/passwd",
      "root:x:0:0:root:/root:/bin/sh\n" +
        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n" +
        "app:x:1000:1000:app:/home/app:/bin/sh\n",
    ),
    file("etc/group", "root:x:0:\nnobody:x:65534:\napp:x:1000:\n"),
    file("etc/hostname", "busybox\n"),
  ];
  return buildLayer(entries, `ctr seed-images: busybox-static ${version}, ${applets.length} applets in /bin`);
}

function imageConfig(layers: Layer[], config: Record<string, unknown>): Bytes {
  const doc = {
    architecture: goArch(),
    os: "linux",
    created: EPOCH,
    config,
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created: EPOCH, created_by: l.createdBy })),
  };
  return new TextEncoder().encode(JSON.stringify(doc, null, 2) + "\n");
}

function manifest(kind: "docker" | "oci", config: Bytes, layers: Layer[]): Bytes {
  const doc = {
    schemaVersion: 2,
    mediaType: kind === "docker" ? MT.dockerManifest : MT.ociManifest,
    config: { mediaType: kind === "docker" ? MT.dockerConfig : MT.ociConfig, size: config.length, digest: sha256(config) },
    layers: layers.map((l) => ({ mediaType: kind === "docker" ? MT.dockerLayer : MT.ociLayer, size: l.blob.length, digest: l.digest })),
  };
  return new TextEncoder().encode(JSON.stringify(doc, null, 2) + "\n");
}

function index(manifests: Descriptor[]): Bytes {
  const doc = { schemaVersion: 2, mediaType: MT.ociIndex, manifests };
  return new TextEncoder().encode(JSON.stringify(doc, null, 2) + "\n");
}

async function request(method: string, url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, { method, ...init });
  } catch (e) {
    throw new SeedError(`${method} ${url} failed: ${(e as Error).message}; is the registry running (scripts/registry.sh start)?`);
  }
}

async function expectStatus(res: Response, want: number, what: string): Promise<void> {
  if (res.status !== want) {
    throw new SeedError(`${what}: registry answered ${res.status} ${res.statusText}: ${(await res.text()).slice(0, 500)}`);
  }
}

/** Uploads a blob unless the repository already has it. Returns true if it was uploaded. */
async function pushBlob(repo: string, blob: Bytes): Promise<boolean> {
  const digest = sha256(blob);
  const head = await request("HEAD", `${BASE}/v2/${repo}/blobs/${digest}`);
  if (head.status === 200) return false;
  const start = await request("POST", `${BASE}/v2/${repo}/blobs/uploads/`);
  await expectStatus(start, 202, `start upload of ${digest} to ${repo}`);
  const location = start.headers.get("location");
  if (!location) throw new SeedError(`start upload of ${digest} to ${repo}: no Location header`);
  const url = new URL(location, BASE);
  url.searchParams.set("digest", digest);
  const put = await request("PUT", url.toString(), {
    headers: { "content-type": "application/octet-stream" },
    body: blob,
  });
  await expectStatus(put, 201, `upload ${digest} to ${repo}`);
  return true;
}

/** Puts a manifest under a tag or digest unless that reference already names the same bytes. */
async function pushManifest(repo: string, reference: string, mediaType: string, body: Bytes): Promise<boolean> {
  const digest = sha256(body);
  const url = `${BASE}/v2/${repo}/manifests/${reference}`;
  const head = await request("HEAD", url, { headers: { accept: mediaType } });
  if (head.status === 200 && head.headers.get("docker-content-digest") === digest) return false;
  const put = await request("PUT", url, { headers: { "content-type": mediaType }, body });
  await expectStatus(put, 201, `put manifest ${repo}:${reference}`);
  const got = put.headers.get("docker-content-digest");
  if (got && got !== digest) throw new SeedError(`put manifest ${repo}:${reference}: registry computed ${got}, expected ${digest}`);
  return true;
}

async function pushImage(
  repo: string,
  tag: string,
  blobs: Bytes[],
  manifests: { reference: string; mediaType: string; body: Bytes }[],
): Promise<void> {
  let wrote = false;
  for (const b of blobs) wrote = (await pushBlob(repo, b)) || wrote;
  // Children before the tag: the registry rejects an index or manifest whose
  // references it does not have yet.
  for (const m of manifests) wrote = (await pushManifest(repo, m.reference, m.mediaType, m.body)) || wrote;
  const top = manifests.at(-1)!;
  console.log(`${wrote ? "pushed   " : "unchanged"} ${REGISTRY}/${repo}:${tag} ${sha256(top.body)} (${top.mediaType})`);
}

async function main(): Promise<void> {
  const ping = await request("GET", `${BASE}/v2/`);
  await expectStatus(ping, 200, `GET ${BASE}/v2/`);

  const base = busyboxLayer();
  const busyboxConfig = imageConfig([base], { Env: [PATH_ENV], Cmd: ["sh"] });
  const dockerManifest = manifest("docker", busyboxConfig, [base]);
  for (const repo of ["library/busybox", "library/alpine"]) {
    await pushImage(repo, "latest", [busyboxConfig, base.blob], [
      { reference: "latest", mediaType: MT.dockerManifest, body: dockerManifest },
    ]);
  }

  const ociManifest = manifest("oci", busyboxConfig, [base]);
  const ociIndex = index([
    {
      mediaType: MT.ociManifest,
      digest: sha256(ociManifest),
      size: ociManifest.length,
      platform: { architecture: goArch(), os: "linux" },
    },
  ]);
  await pushImage("library/busybox", "oci-index", [busyboxConfig, base.blob], [
    { reference: sha256(ociManifest), mediaType: MT.ociManifest, body: ociManifest },
    { reference: "oci-index", mediaType: MT.ociIndex, body: ociIndex },
  ]);

  const add = buildLayer(
    [
      dir("etc"), file("etc/motd", "removed by the next layer\n"),
      dir("opt"), dir("opt/data"), file("opt/data/a.txt", "a\n"), file("opt/data/b.txt", "b\n"),
    ],
    "ctr seed-images: add /etc/motd and /opt/data/{a,b}.txt",
  );
  const remove = buildLayer(
    [
      dir("etc"), file("etc/.wh.motd", ""),
      dir("opt"), dir("opt/data"), file("opt/data/.wh..wh..opq", ""), file("opt/data/c.txt", "c\n"),
    ],
    "ctr seed-images: whiteout /etc/motd, make /opt/data opaque, add c.txt",
  );
  const layered = [base, add, remove];
  const layeredConfig = imageConfig(layered, { Env: [PATH_ENV, "LAYERED=1"], Cmd: ["ls"], WorkingDir: "/opt/data" });
  await pushImage("ctrtest/layered", "latest", [layeredConfig, ...layered.map((l) => l.blob)], [
    { reference: "latest", mediaType: MT.dockerManifest, body: manifest("docker", layeredConfig, layered) },
  ]);
}

try {
  await main();
} catch (e) {
  if (!(e instanceof SeedError)) throw e;
  console.error(`Error: ${e.message}`);
  process.exit(1);
}

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
 * - `library/busybox:manifest-list`: a Docker schema 2 manifest list with the
 *   host platform's manifest (the one `:latest` names) and one for another
 *   platform (arm64/v8 on amd64 hosts, else amd64) whose config names that
 *   platform: for platform selection, not for running.
 * - `ctrtest/layered:latest`: busybox plus two layers that add files, then
 *   remove some with a whiteout and an opaque directory. After unpacking,
 *   /opt/data holds only c.txt and /etc/motd is gone.
 * - `ctrtest/owners:latest`: busybox plus a PAX-format layer under
 *   /opt/owners with files of uid 1000 and of uid 3000000 (above 2^21, so
 *   its id is in a PAX header), setuid, setgid and sticky modes, a hardlink,
 *   a symlink to ../../../etc/passwd and a file `becomes`, which the next
 *   layer replaces with a directory. OCI manifest.
 * - `ctrtest/zstd:latest`: busybox's layer and one more, both tar+zstd, OCI
 *   manifest.
 * - `ctrtest/big:latest`: busybox plus two layers of 12 MiB of pseudo-random
 *   (incompressible, but reproducible) bytes each, for tests that need a pull
 *   or push to take a while (progress, kills, chunked uploads).
 *
 * Layers are tar archives made by GNU tar with fixed owners, order and
 * mtimes, compressed with `gzip -n` (or Bun's zstd), so every run produces
 * the same bytes and digests. Blobs the registry already has are skipped
 * (HEAD), and so are manifests whose tag already points at the same digest,
 * so a second run writes nothing. Modes are set on scratch files and
 * checked: a mode chmod silently did not give would change the bytes, so it
 * stops the seed instead.
 *
 * The module exports its push helpers (pushBlob, pushManifest, pushImage…)
 * for the other seed scripts and the tests that push hand-made images;
 * `main` seeds everything when run as a script, and other images are
 * seeded from there (see the end of `main`).
 *
 * Usage: `bun scripts/seed-images.ts` (CTR_TEST_REGISTRY, default
 * 127.0.0.1:5055).
 */
import { chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const REGISTRY = process.env.CTR_TEST_REGISTRY || "127.0.0.1:5055";
const BASE = `http://${REGISTRY}`;
const EPOCH = "1970-01-01T00:00:00Z";
export const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export const MT = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
} as const;

/** One member of a layer tar. Paths are relative, without a leading slash. */
export type Entry =
  | { path: string; type: "dir"; mode: number; uid?: number; gid?: number }
  | { path: string; type: "file"; mode: number; content: string | Uint8Array; uid?: number; gid?: number }
  | { path: string; type: "symlink"; target: string }
  /** A hard link to `target`, an earlier file of the same layer (it has that file's owner). */
  | { path: string; type: "hardlink"; target: string };

/** Bytes that fetch accepts as a body. */
export type Bytes = Uint8Array<ArrayBuffer>;

export interface LayerOptions {
  /** Blob compression; gzip unless said. */
  compression?: "gzip" | "zstd";
  /** GNU tar's archive format: gnu (base-256 big ids, `L` long names) or posix (PAX headers). */
  format?: "gnu" | "posix";
}

export interface Layer {
  /** Compressed tar, the blob. */
  readonly blob: Bytes;
  /** Media type of the blob in an OCI manifest. */
  readonly ociMediaType: string;
  readonly digest: string;
  /** sha256 of the uncompressed tar, for rootfs.diff_ids. */
  readonly diffId: string;
  readonly createdBy: string;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
}

export class SeedError extends Error {}

export function sha256(data: Uint8Array | string): string {
  return "sha256:" + new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

export function run(cmd: string[], cwd?: string): Bytes {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    throw new SeedError(`${cmd.join(" ")} failed (exit ${r.exitCode}): ${r.stderr.toString().trim()}`);
  }
  return new Uint8Array(r.stdout);
}

export function goArch(): string {
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
export function buildLayer(entries: Entry[], createdBy: string, opts: LayerOptions = {}): Layer {
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
      } else if (e.type === "hardlink") {
        linkSync(join(root, e.target), p);
      } else {
        symlinkSync(e.target, p);
      }
    }
    // Modes of implied parents are whatever mkdir gave them; every parent
    // that ends up in the tar is listed explicitly, so chmod those again.
    for (const e of sorted) if (e.type === "dir") chmodSync(join(root, e.path), e.mode);
    // chmod drops setgid silently for a group the caller is not in: a
    // different mode would push a different image under the same tag.
    for (const e of sorted) {
      if ((e.type === "dir" || e.type === "file") && (lstatSync(join(root, e.path)).mode & 0o7777) !== e.mode) {
        throw new SeedError(`cannot give ${e.path} mode ${e.mode.toString(8)} in the scratch directory ${root}`);
      }
    }

    // A hard link takes its target's owner: they are one inode.
    const ownerOf = (e: Entry): string => {
      if (e.type === "symlink") return "0:0";
      if (e.type === "hardlink") {
        const t = sorted.find((x) => x.path === e.target);
        if (!t || t.type !== "file") throw new SeedError(`hardlink ${e.path}: no file ${e.target} in the layer`);
        return ownerOf(t);
      }
      return `${e.uid ?? 0}:${e.gid ?? 0}`;
    };
    const runs: { owner: string; paths: string[] }[] = [];
    for (const e of sorted) {
      const owner = ownerOf(e);
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
          "tar", "--create", `--format=${opts.format ?? "gnu"}`, "--record-size=512", "--no-recursion",
          // PAX header names without the pid, and no atime/ctime records: reproducible bytes.
          ...(opts.format === "posix" ? ["--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime"] : []),
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
    if (opts.compression === "zstd") {
      const blob = new Uint8Array(Bun.zstdCompressSync(tar, { level: 3 }));
      return { blob, ociMediaType: MT.ociLayerZstd, digest: sha256(blob), diffId: sha256(tar), createdBy };
    }
    const blob = run(["gzip", "-n", "-6", "-c", tarPath]);
    return { blob, ociMediaType: MT.ociLayer, digest: sha256(blob), diffId: sha256(tar), createdBy };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export function dir(path: string, mode = 0o755, uid = 0, gid = 0): Entry {
  return { path, type: "dir", mode, uid, gid };
}

export function file(path: string, content: string | Uint8Array, mode = 0o644, uid = 0, gid = 0): Entry {
  return { path, type: "file", mode, content, uid, gid };
}

/** busybox-static with its applets, a few users and the usual directories: the base of every seeded image. */
export function busyboxLayer(opts: LayerOptions = {}): Layer {
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
  return buildLayer(entries, `ctr seed-images: busybox-static ${version}, ${applets.length} applets in /bin`, opts);
}

export function imageConfig(layers: Layer[], config: Record<string, unknown>, platform: Platform = { architecture: goArch(), os: "linux" }): Bytes {
  const doc = {
    ...platform,
    created: EPOCH,
    config,
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created: EPOCH, created_by: l.createdBy })),
  };
  return new TextEncoder().encode(JSON.stringify(doc, null, 2) + "\n");
}

export function manifest(kind: "docker" | "oci", config: Bytes, layers: Layer[]): Bytes {
  const doc = {
    schemaVersion: 2,
    mediaType: kind === "docker" ? MT.dockerManifest : MT.ociManifest,
    config: { mediaType: kind === "docker" ? MT.dockerConfig : MT.ociConfig, size: config.length, digest: sha256(config) },
    layers: layers.map((l) => ({ mediaType: kind === "docker" ? MT.dockerLayer : l.ociMediaType, size: l.blob.length, digest: l.digest })),
  };
  return new TextEncoder().encode(JSON.stringify(doc, null, 2) + "\n");
}

/** An OCI index, or with `kind` "docker" a Docker manifest list. */
export function index(manifests: Descriptor[], kind: "docker" | "oci" = "oci"): Bytes {
  const doc = { schemaVersion: 2, mediaType: kind === "docker" ? MT.dockerList : MT.ociIndex, manifests };
  return new TextEncoder().encode(JSON.stringify(doc, null, 2) + "\n");
}

export async function request(method: string, url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, { method, ...init });
  } catch (e) {
    throw new SeedError(`${method} ${url} failed: ${(e as Error).message}; is the registry running (scripts/registry.sh start)?`);
  }
}

export async function expectStatus(res: Response, want: number, what: string): Promise<void> {
  if (res.status !== want) {
    throw new SeedError(`${what}: registry answered ${res.status} ${res.statusText}: ${(await res.text()).slice(0, 500)}`);
  }
}

/**
 * Uploads a blob unless the repository already has it (monolithic: POST,
 * then PUT with the digest). Returns true if it was uploaded.
 *
 * @param digest needed when `blob` is a file (`Bun.file`), computed otherwise
 */
export async function pushBlob(repo: string, blob: Bytes | Blob, digest = blob instanceof Blob ? undefined : sha256(blob)): Promise<boolean> {
  if (!digest) throw new SeedError(`pushBlob to ${repo}: a file blob needs its digest`);
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
export async function pushManifest(repo: string, reference: string, mediaType: string, body: Bytes): Promise<boolean> {
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

/** Pushes blobs, then manifests in order (children first); the last one is what `tag` names. */
export async function pushImage(
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

/** `library/busybox` (also `:oci-index`, `:manifest-list`) and `library/alpine`. */
async function seedBusybox(base: Layer): Promise<void> {
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

  // The other platform's config names it; its layer is still this host's busybox.
  const other: Platform = goArch() === "amd64" ? { architecture: "arm64", os: "linux", variant: "v8" } : { architecture: "amd64", os: "linux" };
  const otherConfig = imageConfig([base], { Env: [PATH_ENV], Cmd: ["sh"] }, other);
  const otherManifest = manifest("docker", otherConfig, [base]);
  const list = index(
    [
      { mediaType: MT.dockerManifest, digest: sha256(dockerManifest), size: dockerManifest.length, platform: { architecture: goArch(), os: "linux" } },
      { mediaType: MT.dockerManifest, digest: sha256(otherManifest), size: otherManifest.length, platform: other },
    ],
    "docker",
  );
  await pushImage("library/busybox", "manifest-list", [busyboxConfig, otherConfig, base.blob], [
    { reference: sha256(dockerManifest), mediaType: MT.dockerManifest, body: dockerManifest },
    { reference: sha256(otherManifest), mediaType: MT.dockerManifest, body: otherManifest },
    { reference: "manifest-list", mediaType: MT.dockerList, body: list },
  ]);
}

async function seedLayered(base: Layer): Promise<void> {
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

/** A uid above 2^21, beyond ustar's 7 octal digits: GNU tar puts it in a PAX header. */
export const BIG_ID = 3_000_000;

async function seedOwners(base: Layer): Promise<void> {
  const owned = buildLayer(
    [
      dir("opt"),
      dir("opt/owners"),
      dir("opt/owners/app", 0o750, 1000, 1000),
      file("opt/owners/app/data", "owned by app\n", 0o640, 1000, 1000),
      file("opt/owners/app/suid", "#!/bin/sh\necho suid\n", 0o4755, 1000, 1000),
      file("opt/owners/big-uid", "owned by a uid above 2^21\n", 0o644, BIG_ID, BIG_ID),
      file("opt/owners/setuid", "#!/bin/sh\n", 0o4755),
      file("opt/owners/setgid", "#!/bin/sh\n", 0o2755, 0, 1000),
      file("opt/owners/sticky-file", "sticky\n", 0o1644),
      dir("opt/owners/sticky-dir", 0o1777),
      file("opt/owners/becomes", "a file in this layer, a directory in the next\n"),
      file("opt/owners/hardlink-a", "one inode, two names\n", 0o600, 1000, 1000),
      { path: "opt/owners/hardlink-b", type: "hardlink", target: "opt/owners/hardlink-a" },
      { path: "opt/owners/passwd-link", type: "symlink", target: "../../../etc/passwd" },
    ],
    "ctr seed-images: /opt/owners: owners 1000 and 3000000, setuid/setgid/sticky, hardlink, symlink to ../../../etc/passwd",
    { format: "posix" },
  );
  const becomes = buildLayer(
    [dir("opt"), dir("opt/owners"), dir("opt/owners/becomes", 0o755, 1000, 1000), file("opt/owners/becomes/inside", "now a directory\n", 0o644, 1000, 1000)],
    "ctr seed-images: /opt/owners/becomes is a directory now",
    { format: "posix" },
  );
  const layers = [base, owned, becomes];
  const config = imageConfig(layers, { Env: [PATH_ENV], Cmd: ["sh"] });
  await pushImage("ctrtest/owners", "latest", [config, ...layers.map((l) => l.blob)], [
    { reference: "latest", mediaType: MT.ociManifest, body: manifest("oci", config, layers) },
  ]);
}

async function seedZstd(): Promise<void> {
  const layers = [
    busyboxLayer({ compression: "zstd" }),
    buildLayer([dir("etc"), file("etc/zstd-marker", "unpacked from a zstd layer\n")], "ctr seed-images: /etc/zstd-marker", { compression: "zstd" }),
  ];
  const config = imageConfig(layers, { Env: [PATH_ENV], Cmd: ["cat", "/etc/zstd-marker"] });
  await pushImage("ctrtest/zstd", "latest", [config, ...layers.map((l) => l.blob)], [
    { reference: "latest", mediaType: MT.ociManifest, body: manifest("oci", config, layers) },
  ]);
}

/** `n` bytes of xorshift32 output from `seed`: incompressible, and the same every run. */
function pseudoRandom(n: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(n / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return new Uint8Array(words.buffer, 0, n);
}

/** Size of each of `ctrtest/big`'s two data layers. */
export const BIG_LAYER_BYTES = 12 * 1024 * 1024;

async function seedBig(base: Layer): Promise<void> {
  const data = [1, 2].map((n) =>
    buildLayer([dir("data"), file(`data/random-${n}`, pseudoRandom(BIG_LAYER_BYTES, n))], `ctr seed-images: /data/random-${n}, ${BIG_LAYER_BYTES} pseudo-random bytes`),
  );
  const layers = [base, ...data];
  const config = imageConfig(layers, { Env: [PATH_ENV], Cmd: ["sh"] });
  await pushImage("ctrtest/big", "latest", [config, ...layers.map((l) => l.blob)], [
    { reference: "latest", mediaType: MT.dockerManifest, body: manifest("docker", config, layers) },
  ]);
}

async function main(): Promise<void> {
  const ping = await request("GET", `${BASE}/v2/`);
  await expectStatus(ping, 200, `GET ${BASE}/v2/`);

  const base = busyboxLayer();
  await seedBusybox(base);
  await seedLayered(base);
  await seedOwners(base);
  await seedZstd();
  await seedBig(base);

  // Images seeded by other scripts: one line each.
  await (await import("./seed-redis-image.ts")).seedRedis();
}

/** Runs a seeding script's main: a SeedError is one line and exit 1, anything else a crash. */
export async function runSeedScript(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (!(e instanceof SeedError)) throw e;
    console.error(`Error: ${e.message}`);
    process.exit(1);
  }
}

if (import.meta.main) await runSeedScript(main);

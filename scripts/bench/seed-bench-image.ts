/**
 * Builds the image the pull benchmark pulls, `ctrbench/debian:bookworm-slim`,
 * and `ctrbench/debian:iperf3` (the same plus iperf3, see seedIperf3), and
 * pushes them to the local registry. Run as root (debootstrap needs it).
 *
 * The image is what `debian:bookworm-slim` is: `debootstrap --variant=minbase
 * bookworm` from the Debian mirror apt uses, without the apt caches, logs,
 * device nodes, manual pages, locales and documentation (copyright files
 * stay). About 80 MB and 4,000 files unpacked, about 29 MB compressed: one
 * gzip layer, Docker schema 2 manifest.
 *
 * When debootstrap is missing or cannot reach the mirror, the layer is made
 * from the host instead: busybox-static plus whole directories of the host's
 * /usr/share in name order up to the same unpacked size, which is just as
 * many small real files. A warning says so; the bench prints the layer's size.
 *
 * debootstrap output is not byte-for-byte reproducible, so a second run does
 * not rebuild: if the registry already has the tag, nothing happens
 * (`--rebuild` forces a new image).
 *
 * Usage: `bun scripts/bench/seed-bench-image.ts [--rebuild]`
 * Environment: CTR_TEST_REGISTRY (default 127.0.0.1:5055), CTR_BENCH_MIRROR
 * (default: the first deb.debian.org-style URI of apt's sources, else
 * http://deb.debian.org/debian).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { expectStatus, pushBlob as pushRepoBlob, pushManifest, REGISTRY, request, runSeedScript, SeedError, sha256 } from "../seed-images.ts";

const BASE = `http://${REGISTRY}`;
export const BENCH_REPO = "ctrbench/debian";
export const BENCH_TAG = "bookworm-slim";
/** The same image plus iperf3, for the throughput figure. */
export const IPERF_TAG = "iperf3";
const MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json";
const CONFIG_TYPE = "application/vnd.docker.container.image.v1+json";
const LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/** Unpacked size the host fallback aims for: that of the debootstrap image. */
const HOST_FALLBACK_BYTES = 80 * 1024 * 1024;

function log(msg: string): void {
  console.error(`seed-bench-image: ${msg}`);
}

function sh(cmd: string[], opts: { cwd?: string } = {}): string {
  const r = Bun.spawnSync(cmd, { cwd: opts.cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    // debootstrap says why on stdout, most tools on stderr.
    const err = (r.stderr.toString() + r.stdout.toString()).trim().split("\n").slice(-5).join("\n");
    throw new SeedError(`${cmd.slice(0, 4).join(" ")} failed (exit ${r.exitCode}): ${err}`);
  }
  return r.stdout.toString();
}

async function sha256File(path: string): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) h.update(chunk);
  return "sha256:" + h.digest("hex");
}

/** Where apt gets Debian from, so debootstrap uses the mirror this machine can reach. */
function mirror(): string {
  if (process.env.CTR_BENCH_MIRROR) return process.env.CTR_BENCH_MIRROR;
  const files = ["/etc/apt/sources.list"];
  if (existsSync("/etc/apt/sources.list.d")) {
    for (const f of readdirSync("/etc/apt/sources.list.d")) files.push(join("/etc/apt/sources.list.d", f));
  }
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    // deb822 "URIs:" lines and one-line "deb URI suite" entries: the main
    // archive, not the security one or third-party repositories.
    for (const m of text.matchAll(/^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)/gm)) {
      if (/\/debian\/?$/.test(m[1]!)) return m[1]!;
    }
  }
  return "http://deb.debian.org/debian";
}

/** debootstrap minbase, trimmed as Debian's slim images are. */
function debootstrapRootfs(root: string): string {
  const url = mirror();
  log(`debootstrap --variant=minbase bookworm from ${url} (about a minute and a half)`);
  sh(["debootstrap", "--variant=minbase", "bookworm", root, url]);
  const version = readFileSync(join(root, "etc/debian_version"), "utf8").trim();
  // Slim: what dpkg's path-exclude drops in debian:*-slim, plus what a build leaves behind.
  sh(["sh", "-c", [
    "rm -rf dev/* proc/* sys/* tmp/* run/* var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/*",
    "find var/log -type f -delete",
    "find usr/share/doc -mindepth 2 ! -type d ! -name copyright -delete",
    "find usr/share/doc -mindepth 1 -type d -empty -delete",
    "rm -rf usr/share/man/* usr/share/locale/* usr/share/info/* usr/share/groff/* usr/share/lintian/* usr/share/linda/*",
    // debootstrap copies the host's resolver and hostname; an image has neither.
    "rm -f etc/resolv.conf etc/hostname",
  ].join(" && ")], { cwd: root });
  return `debootstrap --variant=minbase bookworm (Debian ${version}), slimmed`;
}

/** busybox-static and host /usr/share directories: the fallback when there is no mirror. */
function hostRootfs(root: string): string {
  sh(["mkdir", "-p", `${root}/bin`, `${root}/usr/share`, `${root}/etc`, `${root}/tmp`]);
  sh(["cp", "/bin/busybox", `${root}/bin/busybox`]);
  sh(["ln", "-s", "busybox", `${root}/bin/sh`]);
  let total = 0;
  const picked: string[] = [];
  for (const name of readdirSync("/usr/share").sort()) {
    if (total >= HOST_FALLBACK_BYTES) break;
    const src = join("/usr/share", name);
    if (!statSync(src).isDirectory()) continue;
    const kb = Number(sh(["du", "-sk", src]).split("\t")[0]);
    if (total + kb * 1024 > HOST_FALLBACK_BYTES * 1.25) continue;
    sh(["cp", "-a", src, `${root}/usr/share/`]);
    picked.push(name);
    total += kb * 1024;
  }
  return `busybox-static + host /usr/share/{${picked.join(",")}}`;
}

interface BuiltLayer {
  path: string;
  digest: string;
  diffId: string;
  size: number;
  createdBy: string;
}

async function buildLayer(scratch: string): Promise<BuiltLayer> {
  const root = join(scratch, "rootfs");
  let createdBy: string;
  try {
    if (!Bun.which("debootstrap")) throw new SeedError("debootstrap is not installed");
    createdBy = debootstrapRootfs(root);
  } catch (e) {
    if (!(e instanceof SeedError)) throw e;
    log(`warning: ${e.message}; building the layer from host files instead`);
    rmSync(root, { recursive: true, force: true });
    createdBy = hostRootfs(root);
  }
  const tar = join(scratch, "layer.tar");
  const top = readdirSync(root).sort();
  sh(["tar", "--create", "--format=gnu", "--numeric-owner", "--sort=name", "-f", tar, "-C", root, "--", ...top]);
  const diffId = await sha256File(tar);
  sh(["gzip", "-n", "-6", tar]);
  const path = `${tar}.gz`;
  return { path, digest: await sha256File(path), diffId, size: statSync(path).size, createdBy };
}

async function pushBlob(digest: string, body: Uint8Array<ArrayBuffer> | Blob): Promise<void> {
  await pushRepoBlob(BENCH_REPO, body, digest);
}

function imageConfig(diffIds: string[], history: string[], cmd: string[]): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(
    JSON.stringify({
      architecture: process.arch === "x64" ? "amd64" : process.arch,
      os: "linux",
      created: new Date().toISOString(),
      config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: cmd },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: history.map((h) => ({ created_by: `ctr seed-bench-image: ${h}` })),
    }) + "\n",
  );
}

/** Pushes the config and manifest (the layers must be there already) under `tag`. */
async function putImage(tag: string, config: Uint8Array<ArrayBuffer>, layers: { digest: string; size: number }[]): Promise<string> {
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: CONFIG_TYPE, size: config.length, digest: sha256(config) },
      layers: layers.map((l) => ({ mediaType: LAYER_TYPE, size: l.size, digest: l.digest })),
    }) + "\n",
  );
  await pushBlob(sha256(config), config);
  await pushManifest(BENCH_REPO, tag, MANIFEST_TYPE, manifest);
  return sha256(manifest);
}

async function hasTag(tag: string): Promise<string | undefined> {
  const head = await request("HEAD", `${BASE}/v2/${BENCH_REPO}/manifests/${tag}`, { headers: { accept: MANIFEST_TYPE } });
  return head.status === 200 ? head.headers.get("docker-content-digest") ?? "?" : undefined;
}

async function seedDebian(rebuild: boolean): Promise<void> {
  const have = await hasTag(BENCH_TAG);
  if (have && !rebuild) {
    console.log(`unchanged ${REGISTRY}/${BENCH_REPO}:${BENCH_TAG} ${have}`);
    return;
  }
  const scratch = mkdtempSync("/var/tmp/ctr-bench-image-");
  try {
    const layer = await buildLayer(scratch);
    await pushBlob(layer.digest, Bun.file(layer.path));
    const digest = await putImage(BENCH_TAG, imageConfig([layer.diffId], [layer.createdBy], ["bash"]), [layer]);
    console.log(`pushed    ${REGISTRY}/${BENCH_REPO}:${BENCH_TAG} ${digest} (layer ${(layer.size / 1e6).toFixed(1)} MB: ${layer.createdBy})`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * `ctrbench/debian:iperf3`: the Debian image plus a layer with the host's
 * iperf3 and the libraries it needs (Debian packages iperf3, libiperf0,
 * libsctp1, libssl3, under /usr only, without documentation), for the
 * throughput figure. Needs those packages installed on the host.
 */
async function seedIperf3(rebuild: boolean): Promise<void> {
  const have = await hasTag(IPERF_TAG);
  if (have && !rebuild) {
    console.log(`unchanged ${REGISTRY}/${BENCH_REPO}:${IPERF_TAG} ${have}`);
    return;
  }
  const base = await request("GET", `${BASE}/v2/${BENCH_REPO}/manifests/${BENCH_TAG}`, { headers: { accept: MANIFEST_TYPE } });
  await expectStatus(base, 200, `get manifest ${BENCH_REPO}:${BENCH_TAG}`);
  const baseManifest = (await base.json()) as { config: { digest: string }; layers: { digest: string; size: number }[] };
  const baseConfig = await request("GET", `${BASE}/v2/${BENCH_REPO}/blobs/${baseManifest.config.digest}`);
  await expectStatus(baseConfig, 200, `get config of ${BENCH_REPO}:${BENCH_TAG}`);
  const { rootfs, history } = (await baseConfig.json()) as { rootfs: { diff_ids: string[] }; history: { created_by: string }[] };

  const packages = ["iperf3", "libiperf0", "libsctp1", "libssl3"];
  // /usr only: on a merged-/usr host, /lib is a symlink, and a layer must not write through one.
  const paths = sh(["dpkg", "-L", ...packages])
    .split("\n")
    .filter((p) => p.startsWith("/usr/") && !/^\/usr\/share\/(doc|man|lintian)(\/|$)/.test(p))
    .map((p) => p.slice(1));
  const scratch = mkdtempSync("/var/tmp/ctr-bench-image-");
  try {
    const list = join(scratch, "list");
    await Bun.write(list, [...new Set(paths)].sort().join("\n") + "\n");
    const tar = join(scratch, "layer.tar");
    sh(["tar", "--create", "--format=gnu", "--no-recursion", "--numeric-owner", "--sort=name", "-f", tar, "-C", "/", "-T", list]);
    const diffId = await sha256File(tar);
    sh(["gzip", "-n", "-6", tar]);
    const layer = { digest: await sha256File(`${tar}.gz`), size: statSync(`${tar}.gz`).size };
    await pushBlob(layer.digest, Bun.file(`${tar}.gz`));
    const version = sh(["dpkg-query", "-W", "-f=${Version}", "iperf3"]).trim();
    const config = imageConfig(
      [...rootfs.diff_ids, diffId],
      [...history.map((h) => h.created_by.replace(/^ctr seed-bench-image: /, "")), `host files of ${packages.join(", ")} (iperf3 ${version})`],
      ["iperf3", "-s"],
    );
    const digest = await putImage(IPERF_TAG, config, [...baseManifest.layers, layer]);
    console.log(`pushed    ${REGISTRY}/${BENCH_REPO}:${IPERF_TAG} ${digest} (iperf3 ${version})`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rebuild = process.argv.includes("--rebuild");
  await expectStatus(await request("GET", `${BASE}/v2/`), 200, `GET ${BASE}/v2/`);
  await seedDebian(rebuild);
  await seedIperf3(rebuild);
}

if (import.meta.main) await runSeedScript(main);

/**
 * Builds `ctrtest/redis:latest` for the user-defined network tests and
 * pushes it to the local registry: busybox (the seed's base layer) plus
 * one layer with Debian's redis-server (from the redis-tools package, which
 * holds the binaries), redis-cli and socat, and exactly the shared libraries
 * they load, found by following the ELF `NEEDED` entries through the
 * Debian packages of their library dependencies (`apt-get download`, then
 * `dpkg-deb -x`; nothing of the host's own libraries is used).
 *
 * The image runs `redis-server --protected-mode no` in /data, exposing
 * 6379/tcp. Downloaded packages are not byte-for-byte stable across
 * Debian point releases, so a tag already in the registry is left alone
 * (`--rebuild` forces a new image).
 *
 * Usage: `bun scripts/seed-redis-image.ts [--rebuild]` (as root: the
 * base layer's modes need it). The seed calls {@link seedRedis}.
 * Environment: CTR_TEST_REGISTRY (default 127.0.0.1:5055).
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import {
  buildLayer,
  busyboxLayer,
  dir,
  expectStatus,
  imageConfig,
  manifest,
  MT,
  PATH_ENV,
  pushImage,
  REGISTRY,
  request,
  run,
  runSeedScript,
  SeedError,
  type Entry,
} from "./seed-images.ts";

export const REDIS_REPO = "ctrtest/redis";
export const REDIS_TAG = "latest";

/** The packages whose programs go in the image. */
const PROGRAM_PACKAGES = ["redis-tools", "redis-server", "socat"];
/** What goes in /usr/bin. */
const PROGRAMS = ["redis-server", "redis-cli", "redis-benchmark", "redis-check-aof", "redis-check-rdb", "socat"];

function log(msg: string): void {
  console.error(`seed-redis-image: ${msg}`);
}

function text(cmd: string[], cwd?: string): string {
  return new TextDecoder().decode(run(cmd, cwd));
}

/**
 * The programs' packages and every `lib*` package they depend on, however
 * deep (alternatives such as libelogind0 for libsystemd0 included: the
 * ELF walk below only takes what is loaded).
 */
function packageClosure(): string[] {
  const out = text(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", ...PROGRAM_PACKAGES]);
  const names = new Set<string>(PROGRAM_PACKAGES);
  for (const line of out.split("\n")) {
    const name = line.trim();
    if (line.startsWith(" ") || !/^lib[a-z0-9.+-]+$/.test(name)) continue;
    names.add(name);
  }
  return [...names].sort();
}

/** `NEEDED` sonames and the program interpreter of an ELF file; undefined if it is not one. */
function elfNeeds(path: string): { needed: string[]; interpreter?: string } | undefined {
  const head = readFileSync(path).subarray(0, 4);
  if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return undefined;
  const dyn = text(["readelf", "-d", "-W", path]);
  const needed = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
  const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(text(["readelf", "-l", "-W", path]));
  return { needed, interpreter: interp?.[1] };
}

/** Finds a soname in the extracted packages' library directories. */
function findLibrary(root: string, soname: string): string | undefined {
  const dirs = ["lib", "usr/lib", "lib64", "usr/lib64"];
  for (const d of [...dirs]) {
    try {
      for (const e of readdirSync(join(root, d))) if (/-linux-gnu/.test(e)) dirs.push(`${d}/${e}`);
    } catch {
      // not in these packages
    }
  }
  for (const d of dirs) {
    try {
      lstatSync(join(root, d, soname));
      return `${d}/${soname}`;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Follows symlinks as if `root` were `/` (packages link absolutely, e.g. /lib64/ld-linux-x86-64.so.2). */
function resolveIn(root: string, rel: string): string {
  let path = join(root, rel);
  for (let hops = 0; hops < 40; hops++) {
    if (!lstatSync(path).isSymbolicLink()) return path;
    const target = readlinkSync(path);
    path = target.startsWith("/") ? join(root, target) : join(dirname(path), target);
    if (!path.startsWith(`${root}/`)) throw new SeedError(`${rel} points outside the extracted packages`);
  }
  throw new SeedError(`${rel}: too many symlinks`);
}

/** The layer's entries: the programs, then every library they load, by soname, dereferenced. */
function redisEntries(root: string): Entry[] {
  const entries = new Map<string, Entry>();
  const queue: string[] = [];
  const add = (rel: string) => {
    if (entries.has(rel)) return;
    const abs = join(root, rel);
    const st = lstatSync(abs);
    if (st.isSymbolicLink() && rel.startsWith("usr/bin/")) {
      // redis-check-aof → redis-server: keep the link.
      entries.set(rel, { path: rel, type: "symlink", target: readlinkSync(abs) });
      return;
    }
    const real = resolveIn(root, rel);
    entries.set(rel, { path: rel, type: "file", mode: lstatSync(real).mode & 0o7777, content: readFileSync(real) });
    queue.push(real);
  };
  for (const p of PROGRAMS) add(`usr/bin/${p}`);
  while (queue.length) {
    const elf = elfNeeds(queue.shift()!);
    if (!elf) continue;
    if (elf.interpreter) {
      const rel = elf.interpreter.replace(/^\//, "");
      lstatSync(join(root, rel));
      add(rel);
    }
    for (const soname of elf.needed) {
      const rel = findLibrary(root, soname);
      if (!rel) throw new SeedError(`no package of the closure has ${soname}`);
      add(rel);
    }
  }
  const dirs = new Set<string>(["data"]);
  for (const path of entries.keys()) for (let d = dirname(path); d !== "."; d = dirname(d)) dirs.add(d);
  // The base layer has these already (same modes); a layer may repeat them.
  return [...[...dirs].map((d) => dir(d)), ...entries.values()];
}

async function hasTag(): Promise<boolean> {
  const head = await request("HEAD", `http://${REGISTRY}/v2/${REDIS_REPO}/manifests/${REDIS_TAG}`, { headers: { accept: MT.dockerManifest } });
  return head.status === 200;
}

/** Builds and pushes `ctrtest/redis:latest` unless the registry has it (or `rebuild`). */
export async function seedRedis(rebuild = false): Promise<void> {
  if (!rebuild && (await hasTag())) {
    console.log(`unchanged ${REGISTRY}/${REDIS_REPO}:${REDIS_TAG} (already seeded)`);
    return;
  }
  const scratch = mkdtempSync(join(tmpdir(), "ctr-redis-seed-"));
  try {
    const debs = join(scratch, "debs");
    const root = join(scratch, "root");
    mkdirSync(debs, { mode: 0o755 });
    mkdirSync(root);
    const packages = packageClosure();
    log(`apt-get download ${packages.length} packages: ${packages.join(" ")}`);
    run(["apt-get", "download", "-q", "-q", ...packages], debs);
    for (const deb of readdirSync(debs).filter((f) => f.endsWith(".deb")).sort()) run(["dpkg-deb", "-x", join(debs, deb), root]);
    const version = text(["dpkg-deb", "-f", join(debs, readdirSync(debs).find((f) => f.startsWith("redis-tools_"))!), "Version"]).trim();
    const entries = redisEntries(root);
    const libs = entries.filter((e) => e.type === "file" && !e.path.startsWith("usr/bin/")).map((e) => basename(e.path));
    const layer = buildLayer(entries, `ctr seed-redis-image: redis ${version} and socat from Debian packages, with ${libs.join(", ")}`);
    const base = busyboxLayer();
    const config = imageConfig([base, layer], {
      Env: [PATH_ENV],
      Cmd: ["redis-server", "--protected-mode", "no"],
      WorkingDir: "/data",
      ExposedPorts: { "6379/tcp": {} },
    });
    await pushImage(REDIS_REPO, REDIS_TAG, [config, base.blob, layer.blob], [
      { reference: REDIS_TAG, mediaType: MT.dockerManifest, body: manifest("docker", config, [base, layer]) },
    ]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (import.meta.main)
  await runSeedScript(async () => {
    await expectStatus(await request("GET", `http://${REGISTRY}/v2/`), 200, `GET http://${REGISTRY}/v2/`);
    await seedRedis(process.argv.includes("--rebuild"));
  });

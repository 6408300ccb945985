/**
 * Drives the real ctr-shim directly for test/netshim.test.ts: a network
 * holder (`net-holder`) and containers started with `run` from bundles
 * whose rootfs is a plain directory holding the host's busybox-static,
 * built with the same functions ctr uses (buildSpec, startShim), so the
 * shim side of user-defined networks is tested without the TS network code.
 *
 * The shim is `$CTR_SHIM` when set, else build/ctr-shim of this checkout.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Mount, Spec } from "../src/oci/runtime.ts";
import {
  HOLDER_FILES,
  NETWORK_ATTACHMENTS_ANNOTATION,
  netAttachArgv,
  netDetachArgv,
  netHolderArgv,
  parseHolderReady,
  shimPath,
  startShim,
  type NetAttachment,
  type NetHolderConfig,
} from "../src/runtime/shim.ts";
import { buildSpec } from "../src/runtime/spec.ts";
import { userIdMaps } from "../src/runtime/subid.ts";
import { REPO_ROOT } from "./helpers.ts";

export const SHIM = process.env.CTR_SHIM || join(REPO_ROOT, "build", "ctr-shim");
// startShim, in this process, finds the shim through CTR_SHIM and keeps the
// first answer. The variable must not stay set: every later test's ctr
// inherits this process's environment and would run this shim instead of
// the one embedded in the binary under test.
{
  const given = process.env.CTR_SHIM;
  process.env.CTR_SHIM = SHIM;
  await shimPath("/nonexistent");
  if (given === undefined) delete process.env.CTR_SHIM;
}

const BUSYBOX = "/bin/busybox";
const APPLETS = ["sh", "ip", "wget", "httpd", "sleep", "cat", "echo", "ls"];

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(argv: string[]): Promise<Result> {
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** A rootfs with busybox and its applets as symlinks; shared by the test's containers. */
export function makeRootfs(dir: string): string {
  mkdirSync(join(dir, "bin"), { recursive: true });
  for (const d of ["proc", "dev", "sys", "etc", "tmp", "www"]) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, "bin", "busybox"));
  chmodSync(join(dir, "bin", "busybox"), 0o755);
  for (const a of APPLETS) symlinkSync("busybox", join(dir, "bin", a));
  return dir;
}

/** `ctr-shim net-holder DIR` with a holder.json; the holder's pid. */
export async function startHolder(dir: string, config: NetHolderConfig): Promise<Result & { pid?: number }> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, HOLDER_FILES.config), JSON.stringify(config));
  const r = await run(netHolderArgv(SHIM, dir));
  return { ...r, pid: parseHolderReady(r.stdout) };
}

/** holder.json for a new network user namespace with the user's subordinate ids. */
export function newUsernsConfig(subnet: string, extra: Partial<NetHolderConfig> = {}): NetHolderConfig {
  const maps = userIdMaps();
  const prefix = subnet.replace(/\.0\/24$/, "");
  return {
    userns: { uidMappings: maps.uidMappings, gidMappings: maps.gidMappings },
    bridge: "br0",
    address: `${prefix}.1/24`,
    mtu: 65520,
    slirp: { path: "/usr/bin/slirp4netns", args: ["--cidr", subnet, "--mtu", "65520", "--disable-host-loopback"], device: "tap0" },
    ...extra,
  };
}

export interface ContainerOptions {
  dir: string;
  rootfs: string;
  args: string[];
  /** The network user namespace to join. */
  userns: string;
  /** A network namespace to join (`--network container:…`) instead of a new one. */
  netns?: string;
  attachments: NetAttachment[];
  mounts?: Mount[];
  apiSocket?: string;
  requests?: string[];
}

function containerSpec(o: ContainerOptions, args: string[]): Spec {
  const maps = userIdMaps();
  const spec = buildSpec({
    image: {},
    process: { args, env: [], tty: false },
    user: { uid: 0, gid: 0, additionalGids: [], home: "/root" },
    hostname: "netshim",
    rootfs: { merged: o.rootfs, lowerDirs: [], upperDir: "", workDir: "" },
    uidMappings: maps.uidMappings,
    gidMappings: maps.gidMappings,
    userMounts: o.mounts,
  });
  spec.linux.namespaces = spec.linux.namespaces.map((ns) =>
    ns.type === "user" ? { type: "user", path: o.userns } : ns.type === "network" && o.netns ? { type: "network", path: o.netns } : ns,
  );
  spec.annotations = { ...spec.annotations, [NETWORK_ATTACHMENTS_ANNOTATION]: JSON.stringify(o.attachments) };
  return spec;
}

export interface Container {
  pid: number;
  stateDir: string;
  /** Runs args in the container (`ctr-shim exec`), its output captured. */
  exec(args: string[]): Promise<Result>;
}

/** `ctr-shim run --detach` of a container; resolves once its process runs. */
export async function startContainer(o: ContainerOptions): Promise<Container> {
  const bundle = join(o.dir, "bundle");
  const stateDir = join(o.dir, "state");
  mkdirSync(bundle, { recursive: true });
  writeFileSync(join(bundle, "config.json"), JSON.stringify(containerSpec(o, o.args)));
  const shim = await startShim(join(o.dir, "data"), {
    bundle,
    stateDir,
    detach: true,
    logFile: join(o.dir, "log"),
    netApiSocket: o.apiSocket,
    netHelperRequests: o.requests,
  });
  const pid = await shim.ready;
  shim.detach();
  let execs = 0;
  return {
    pid,
    stateDir,
    exec: async (args) => {
      const execBundle = join(o.dir, `exec-${++execs}`);
      mkdirSync(execBundle);
      writeFileSync(join(execBundle, "config.json"), JSON.stringify(containerSpec(o, args)));
      return run([SHIM, "exec", "--bundle", execBundle, "--pid", String(pid)]);
    },
  };
}

export const netAttach = (pid: number, a: NetAttachment) => run(netAttachArgv(SHIM, pid, a));
export const netDetach = (pid: number, ifname: string) => run(netDetachArgv(SHIM, pid, ifname));

/** Live processes whose command line has arg (zombies excluded). */
export function processesWithArg(arg: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").includes(arg) && alive(Number(name))) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Running, and not a zombie waiting for a lazy reaper. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Waits (generously: the machine is shared) until cond holds; false if it never does. */
export async function waitFor(cond: () => boolean, ms = 20000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await Bun.sleep(50);
  }
  return cond();
}

/** Runs fn until ok(result) or the deadline (for servers still starting); the last result. */
export async function eventually<R>(fn: () => Promise<R>, ok: (r: R) => boolean, ms = 20000): Promise<R> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await fn();
    if (ok(r) || Date.now() > end) return r;
    await Bun.sleep(100);
  }
}

export const exists = existsSync;

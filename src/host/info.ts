/**
 * What this host gives a rootless user, checked for real, with the one-line
 * fix for every missing piece. `ctr info` prints it; nothing else depends on
 * the probes (the shim falls back at run time on its own).
 */
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadRegistriesConf } from "../image/registries-conf.ts";
import { ctrPaths } from "../paths.ts";
import { removeTree } from "../runtime/remove-tree.ts";
import { shimPath } from "../runtime/shim.ts";
import { currentUserName, readSubIds, userIdMaps } from "../runtime/subid.ts";
import { which } from "./which.ts";

export interface Check {
  ok: boolean;
  detail: string;
  /** How to fix it when not ok. */
  fix?: string;
}

export interface HostInfo {
  host: {
    user: string;
    uid: number;
    gid: number;
    kernel: string;
    os: string;
    arch: string;
    cgroupVersion: "v1" | "v2";
    cgroupDelegation: Check;
    userNamespaces: Check;
    subuid: Check;
    subgid: Check;
    newuidmap: Check;
    newgidmap: Check;
    nativeOverlay: Check;
    fuseOverlayfs: Check;
    slirp4netns: Check;
    pasta: Check;
  };
  store: { dataDir: string; runtimeDir: string; graphDriver: string; registriesConf: string[] };
  version: { ctr: string; bun: string };
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "";
  }
}

function usable(dev: string): boolean {
  try {
    accessSync(dev, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function binaryCheck(name: string, pkg: string, extra?: () => Check | undefined): Check {
  const path = which(name);
  if (!path) return { ok: false, detail: "not found", fix: `apt-get install ${pkg}` };
  return extra?.() ?? { ok: true, detail: path };
}

async function probeNativeOverlay(dataDir: string): Promise<Check> {
  const maps = userIdMaps();
  const base = join(dataDir, "tmp");
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, "overlay-probe-"));
  try {
    for (const d of ["lower", "upper", "work", "merged"]) mkdirSync(join(dir, d));
    const root = maps.uidMappings[0]!;
    const groot = maps.gidMappings[0]!;
    const mountBin = which("mount") ?? "/bin/mount";
    const opts = `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work,userxattr`;
    const proc = Bun.spawnSync(
      [await shimPath(dataDir), "userns", "--uid-map", `0:${root.hostID}:1`, "--gid-map", `0:${groot.hostID}:1`, "--", mountBin, "-t", "overlay", "overlay", "-o", opts, `${dir}/merged`],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    if (proc.exitCode === 0) return { ok: true, detail: "overlayfs mounts inside a user namespace" };
    return { ok: false, detail: proc.stderr.toString().trim().split("\n")[0] || `exit ${proc.exitCode}`, fix: "use a kernel >= 5.11 (fuse-overlayfs is used meanwhile)" };
  } catch (err) {
    return { ok: false, detail: String(err) };
  } finally {
    // overlayfs leaves work/work with mode 000: removeTree knows how to remove that.
    await removeTree(dataDir, dir).catch(() => {});
  }
}

export async function collectHostInfo(version: string): Promise<HostInfo> {
  const paths = ctrPaths();
  const uid = process.getuid!();
  const gid = process.getgid!();
  const user = currentUserName();
  const cgroupV2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
  const maxUserNs = Number(readText("/proc/sys/user/max_user_namespaces") || "0");
  const subuids = readSubIds("/etc/subuid", uid, user);
  const subgids = readSubIds("/etc/subgid", uid, user);
  const rangeCheck = (ranges: typeof subuids, kind: "subuid" | "subgid"): Check =>
    ranges.length
      ? { ok: true, detail: ranges.map((r) => `${r.start}-${r.start + r.count - 1}`).join(", ") }
      : { ok: false, detail: `no ${kind} range for ${user}`, fix: `usermod --add-${kind}s 100000-165535 ${user}` };
  let delegation: Check;
  if (cgroupV2) {
    const own = readText("/proc/self/cgroup").split("\n").find((l) => l.startsWith("0::"))?.slice(3) ?? "/";
    const dir = join("/sys/fs/cgroup", own);
    let writable = false;
    try {
      accessSync(dir, constants.W_OK);
      writable = true;
    } catch {
      // not delegated
    }
    delegation = writable
      ? { ok: true, detail: `cgroup ${own} is writable` }
      : { ok: false, detail: `cgroup ${own} is not delegated to ${user}`, fix: "run ctr from a systemd user session (Delegate=yes); resource limits are skipped meanwhile" };
  } else {
    delegation = { ok: false, detail: "cgroup v1: no delegation to unprivileged users", fix: "boot with systemd.unified_cgroup_hierarchy=1 for resource limits; containers run without them meanwhile" };
  }
  const devCheck = (dev: string, what: string) => (): Check | undefined =>
    usable(dev) ? undefined : { ok: false, detail: `${dev} is not usable by ${user}`, fix: `chmod 0666 ${dev} (as root; distributions ship it so) to use ${what}` };
  return {
    host: {
      user,
      uid,
      gid,
      kernel: readText("/proc/sys/kernel/osrelease"),
      os: readText("/etc/os-release").match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1] ?? "linux",
      arch: process.arch === "x64" ? "amd64" : process.arch,
      cgroupVersion: cgroupV2 ? "v2" : "v1",
      cgroupDelegation: delegation,
      userNamespaces:
        maxUserNs > 0
          ? { ok: true, detail: `max_user_namespaces=${maxUserNs}` }
          : { ok: false, detail: "user namespaces are disabled", fix: "sysctl -w user.max_user_namespaces=15000" },
      subuid: rangeCheck(subuids, "subuid"),
      subgid: rangeCheck(subgids, "subgid"),
      newuidmap: binaryCheck("newuidmap", "uidmap"),
      newgidmap: binaryCheck("newgidmap", "uidmap"),
      nativeOverlay: await probeNativeOverlay(paths.data),
      fuseOverlayfs: binaryCheck("fuse-overlayfs", "fuse-overlayfs", devCheck("/dev/fuse", "fuse-overlayfs")),
      slirp4netns: binaryCheck("slirp4netns", "slirp4netns", devCheck("/dev/net/tun", "slirp4netns")),
      pasta: binaryCheck("pasta", "passt", devCheck("/dev/net/tun", "pasta")),
    },
    store: { dataDir: paths.data, runtimeDir: paths.runtime, graphDriver: "overlay", registriesConf: loadRegistriesConf().files },
    version: { ctr: version, bun: Bun.version },
  };
}

/** The checks that failed, as `name: detail; fix: …` lines. */
export function problems(info: HostInfo): string[] {
  return Object.entries(info.host).flatMap(([name, v]) => {
    const c = v as Check;
    return typeof c === "object" && c && "ok" in c && !c.ok ? [`${name}: ${c.detail}${c.fix ? `; fix: ${c.fix}` : ""}`] : [];
  });
}

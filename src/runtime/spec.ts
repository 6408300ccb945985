/**
 * Builds the OCI runtime spec (`config.json`) for a container from its image
 * config and the user's options. Pure: everything it needs is passed in.
 *
 * Defaults follow docker/podman: entrypoint and cmd combined as docker does,
 * PATH/HOSTNAME/HOME in the environment, and the mounts a rootless container
 * can have (devices are bind-mounted from the host because an unprivileged
 * user cannot mknod them).
 */
import { CtrError } from "../errors.ts";
import type { ImageRunConfig } from "../oci/image.ts";
import { Annotation, OCI_RUNTIME_VERSION, type IdMapping, type Mount, type Rlimit, type Spec } from "../oci/runtime.ts";
import type { ResolvedUser } from "./users.ts";

/** Where `--init` puts the shim in the container (docker uses /sbin/docker-init). */
export const INIT_PATH = "/run/ctr-init";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface ProcessOptions {
  /** Arguments after the image on the command line. */
  args: string[];
  /** `--entrypoint`: undefined keeps the image's; "" clears it. */
  entrypoint?: string;
  /** `-e` / `--env-file` entries, already expanded to KEY=VALUE. */
  env: string[];
  workdir?: string;
  tty: boolean;
}

/** docker's rule: entrypoint + (user args, else image Cmd unless --entrypoint was given). */
export function processArgs(image: ImageRunConfig, opts: Pick<ProcessOptions, "args" | "entrypoint">): string[] {
  const entrypoint = opts.entrypoint !== undefined ? (opts.entrypoint === "" ? [] : [opts.entrypoint]) : image.Entrypoint ?? [];
  const cmd = opts.args.length > 0 ? opts.args : opts.entrypoint !== undefined ? [] : image.Cmd ?? [];
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) throw new CtrError("no command specified: the image has no Cmd or Entrypoint and none was given", { kind: "invalid" });
  return argv;
}

/** Merges environment lists; later entries win, order of first appearance kept. */
export function mergeEnv(...lists: string[][]): string[] {
  const map = new Map<string, string>();
  for (const list of lists) {
    for (const e of list) {
      const eq = e.indexOf("=");
      map.set(eq < 0 ? e : e.slice(0, eq), e);
    }
  }
  return [...map.values()];
}

export interface RootfsLayout {
  /** Mount point of the container's root (empty dir on the host). */
  merged: string;
  /** Image layers, bottom-most first; empty means `merged` is used as it is. */
  lowerDirs: string[];
  upperDir: string;
  workDir: string;
}

export interface SpecInput {
  image: ImageRunConfig;
  process: ProcessOptions;
  user: ResolvedUser;
  hostname: string;
  rootfs: RootfsLayout;
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
  readOnly?: boolean;
  security?: SecurityOptions;
  /** `--init`: the shim binary on the host, bind-mounted as the container's pid 1. */
  initPath?: string;
  /** `--network host`: no network namespace of its own. */
  hostNetwork?: boolean;
  /** Files ctr manages, bind-mounted over the image's `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`. */
  etcFiles?: { hosts: string; hostname: string; resolvConf: string };
  /** Volumes, bind mounts and tmpfs the user asked for, mounted after the defaults, in order. */
  userMounts?: Mount[];
}

export interface SecurityOptions {
  /** `--cap-add` / `--cap-drop`: names with or without `CAP_`, or `ALL`. */
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  noNewPrivileges: boolean;
  /** `--ulimit`, parsed by {@link parseUlimit}. */
  rlimits: Rlimit[];
  /** `--oom-score-adj`, -1000 to 1000; absent: the caller's (inherited). */
  oomScoreAdj?: number;
}

/** Docker's default capability set (moby's oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

/** Every capability the shim knows (Linux 5.9+). */
export const ALL_CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
  "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
  "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
];

/** Paths crun and docker hide from a container (unless privileged). */
export const MASKED_PATHS = [
  "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
  "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap", "/sys/fs/selinux",
];
export const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

function capName(name: string): string {
  const upper = name.toUpperCase();
  const full = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  if (full !== "CAP_ALL" && !ALL_CAPABILITIES.includes(full)) throw new CtrError(`unknown capability "${name}"`, { kind: "invalid" });
  return full;
}

/** The capability set docker computes: defaults (or all, privileged), plus adds, minus drops. */
export function capabilitySet(sec: Pick<SecurityOptions, "capAdd" | "capDrop" | "privileged">): string[] {
  const add = sec.capAdd.map(capName);
  const drop = sec.capDrop.map(capName);
  if (sec.privileged || add.includes("CAP_ALL")) return drop.includes("CAP_ALL") ? [] : ALL_CAPABILITIES.filter((c) => !drop.includes(c));
  const base = drop.includes("CAP_ALL") ? [] : DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c));
  for (const c of add) if (!base.includes(c)) base.push(c);
  return base;
}

const ULIMITS: Record<string, string> = {
  core: "RLIMIT_CORE", cpu: "RLIMIT_CPU", data: "RLIMIT_DATA", fsize: "RLIMIT_FSIZE", locks: "RLIMIT_LOCKS",
  memlock: "RLIMIT_MEMLOCK", msgqueue: "RLIMIT_MSGQUEUE", nice: "RLIMIT_NICE", nofile: "RLIMIT_NOFILE",
  nproc: "RLIMIT_NPROC", rss: "RLIMIT_RSS", rtprio: "RLIMIT_RTPRIO", rttime: "RLIMIT_RTTIME",
  sigpending: "RLIMIT_SIGPENDING", stack: "RLIMIT_STACK", as: "RLIMIT_AS",
};

/** `--ulimit nofile=1024:2048` (soft[:hard]; -1 for unlimited) as an OCI rlimit. */
export function parseUlimit(value: string): Rlimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(value);
  const type = m ? ULIMITS[m[1]!] : undefined;
  if (!m || !type) throw new CtrError(`invalid --ulimit "${value}": expected NAME=SOFT[:HARD], NAME one of ${Object.keys(ULIMITS).join(", ")}`, { kind: "invalid" });
  const num = (v: string) => (Number(v) < 0 ? 2 ** 64 - 1 : Number(v));
  const soft = num(m[2]!);
  const hard = m[3] === undefined ? soft : num(m[3]);
  if (soft > hard) throw new CtrError(`invalid --ulimit "${value}": soft limit is above the hard limit`, { kind: "invalid" });
  return { type, soft, hard };
}

function hasId(maps: IdMapping[], id: number): boolean {
  return maps.some((m) => id >= m.containerID && id < m.containerID + m.size);
}

export function defaultMounts(gidMappings: IdMapping[]): Mount[] {
  const mounts: Mount[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      // gid=5 (tty) only exists when the subordinate range maps it.
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", ...(hasId(gidMappings, 5) ? ["gid=5"] : [])],
    },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
  ];
  for (const dev of ["null", "zero", "full", "random", "urandom", "tty"]) {
    mounts.push({ destination: `/dev/${dev}`, type: "bind", source: `/dev/${dev}`, options: ["rbind", "nosuid", "noexec"] });
  }
  return mounts;
}

export function buildSpec(input: SpecInput): Spec {
  const { image, process: p, user } = input;
  const args = processArgs(image, p);
  const env = mergeEnv(
    [`PATH=${DEFAULT_PATH}`],
    image.Env ?? [],
    [`HOSTNAME=${input.hostname}`, ...(p.tty ? ["TERM=xterm"] : [])],
    image.Env?.some((e) => e.startsWith("HOME=")) ? [] : [`HOME=${user.home}`],
    p.env,
  );
  const { rootfs } = input;
  const annotations: Record<string, string> = {};
  if (rootfs.lowerDirs.length > 0) {
    // overlayfs lists lower dirs top-most first.
    annotations[Annotation.overlayLower] = [...rootfs.lowerDirs].reverse().join(":");
    annotations[Annotation.overlayUpper] = rootfs.upperDir;
    annotations[Annotation.overlayWork] = rootfs.workDir;
  }
  const sec = input.security ?? { capAdd: [], capDrop: [], privileged: false, noNewPrivileges: false, rlimits: [] };
  const caps = capabilitySet(sec);
  const mounts = defaultMounts(input.gidMappings);
  const userMounts = input.userMounts ?? [];
  mounts.push(...userMounts);
  if (input.etcFiles) {
    for (const [dest, src] of [["/etc/hosts", input.etcFiles.hosts], ["/etc/hostname", input.etcFiles.hostname], ["/etc/resolv.conf", input.etcFiles.resolvConf]] as const) {
      // A user's own mount of one of these files wins, as in docker.
      if (userMounts.some((m) => m.destination === dest)) continue;
      mounts.push({ destination: dest, type: "bind", source: src, options: ["rbind", "rprivate"] });
    }
  }
  if (input.initPath) mounts.push({ destination: INIT_PATH, type: "bind", source: input.initPath, options: ["bind", "ro", "nosuid", "nodev"] });
  return {
    ociVersion: OCI_RUNTIME_VERSION,
    process: {
      terminal: p.tty,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      args: input.initPath ? [INIT_PATH, "init", "--", ...args] : args,
      env,
      cwd: p.workdir || image.WorkingDir || "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      ...(sec.rlimits.length ? { rlimits: sec.rlimits } : {}),
      ...(sec.noNewPrivileges ? { noNewPrivileges: true } : {}),
      ...(sec.oomScoreAdj !== undefined ? { oomScoreAdj: sec.oomScoreAdj } : {}),
    },
    root: { path: rootfs.merged, readonly: input.readOnly ?? false },
    hostname: input.hostname,
    mounts,
    linux: {
      namespaces: [{ type: "user" }, { type: "mount" }, { type: "pid" }, { type: "uts" }, { type: "ipc" }, ...(input.hostNetwork ? [] : [{ type: "network" as const }])],
      uidMappings: input.uidMappings,
      gidMappings: input.gidMappings,
      ...(sec.privileged ? {} : { maskedPaths: MASKED_PATHS, readonlyPaths: READONLY_PATHS }),
    },
    annotations,
  };
}

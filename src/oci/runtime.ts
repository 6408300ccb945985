/**
 * OCI runtime-spec types: the subset of `config.json` that ctr emits and the
 * shim reads. https://github.com/opencontainers/runtime-spec/blob/main/config.md
 *
 * The bundle format is the interface between ctr and whatever runs the
 * container (our shim today, `--runtime crun|runc` later), so extensions go
 * in annotations, never in new fields.
 */

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

export interface Rlimit {
  type: string;
  hard: number;
  soft: number;
}

export interface Capabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface Process {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: User;
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: Capabilities;
  rlimits?: Rlimit[];
  noNewPrivileges?: boolean;
  /** Written to /proc/self/oom_score_adj before exec; -1000 to 1000. */
  oomScoreAdj?: number;
}

export interface Root {
  path: string;
  readonly?: boolean;
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export type NamespaceType = "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup" | "time";

export interface Namespace {
  type: NamespaceType;
  path?: string;
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Linux {
  namespaces: Namespace[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  maskedPaths?: string[];
  readonlyPaths?: string[];
  rootfsPropagation?: string;
}

export interface Spec {
  ociVersion: string;
  process: Process;
  root: Root;
  hostname?: string;
  mounts?: Mount[];
  linux: Linux;
  annotations?: Record<string, string>;
}

export const OCI_RUNTIME_VERSION = "1.2.0";

/**
 * Annotations through which ctr tells its shim how to assemble the rootfs,
 * because the runtime spec expects `root.path` to be ready, and rootless
 * overlay can only be mounted inside the container's user namespace.
 * Lower dirs are listed top-most first, separated by ":" as in overlayfs.
 */
export const Annotation = {
  overlayLower: "run.ctr.rootfs.overlay.lowerdir",
  overlayUpper: "run.ctr.rootfs.overlay.upperdir",
  overlayWork: "run.ctr.rootfs.overlay.workdir",
  /** "auto" (native, then fuse-overlayfs), "native" or "fuse". */
  overlayDriver: "run.ctr.rootfs.overlay.driver",
} as const;

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
import { Annotation, OCI_RUNTIME_VERSION, type IdMapping, type Mount, type Spec } from "../oci/runtime.ts";
import type { ResolvedUser } from "./users.ts";

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
  return {
    ociVersion: OCI_RUNTIME_VERSION,
    process: {
      terminal: p.tty,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      args,
      env,
      cwd: p.workdir || image.WorkingDir || "/",
    },
    root: { path: rootfs.merged, readonly: input.readOnly ?? false },
    hostname: input.hostname,
    mounts: defaultMounts(input.gidMappings),
    linux: {
      namespaces: [{ type: "user" }, { type: "mount" }, { type: "pid" }, { type: "uts" }, { type: "ipc" }, { type: "network" }],
      uidMappings: input.uidMappings,
      gidMappings: input.gidMappings,
    },
    annotations,
  };
}

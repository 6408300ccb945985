/**
 * Running a verb again as root of a user namespace mapped like the
 * container's, as `podman unshare` does. A container's non-root users write
 * files owned by the user's subordinate ids, often unreadable (mode 0600)
 * or unwritable from outside; inside such a namespace they belong to the
 * ids the container sees and root may read, write and chown them.
 */
import { ctrPaths } from "../../paths.ts";
import type { IdMapping } from "../../oci/runtime.ts";
import { shimPath } from "../shim.ts";

const MARK = "CTR_IN_CONTAINER_USERNS";
/** Set by {@link rerunInUserns} when it hands the command a running container's root as fd 3. */
const ROOT_FD = "CTR_CONTAINER_ROOT_FD";

/** True when this process was started by {@link rerunInUserns}: file owners are already container ids. */
export function inContainerUserns(): boolean {
  return process.env[MARK] === "1";
}

/** The argv that runs this ctr again, pointed at the same store. */
export function selfArgs(): string[] {
  const p = ctrPaths();
  return [...selfBinary(), "--root", p.data, "--runroot", p.runtime];
}

/**
 * Runs this same command line again inside a user namespace with `maps`,
 * with our stdio; returns its exit status. Undefined when there is no need
 * (already root, or already inside) or no way (only the user's own id mapped).
 */
export async function rerunInUserns(maps: IdMaps, rootFd?: number): Promise<number | undefined> {
  if (!canEnter(maps)) return undefined;
  const proc = await spawnInUserns(maps, [...selfArgs(), ...process.argv.slice(2)], "inherit", rootFd);
  return proc.exited;
}

/**
 * The directory handed over as `rootFd` by {@link rerunInUserns} (a running
 * container's root, opened from outside), as a path; undefined if none.
 */
export function inheritedRoot(): string | undefined {
  return inContainerUserns() && process.env[ROOT_FD] ? `/proc/self/fd/${process.env[ROOT_FD]}/.` : undefined;
}

export interface IdMaps {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

/** Whether entering a namespace with `maps` is both needed and possible. */
export function canEnter(maps: IdMaps): boolean {
  if (inContainerUserns() || process.getuid?.() === 0) return false;
  return maps.uidMappings.length > 1 || maps.gidMappings.length > 1;
}

/**
 * Starts `argv` as root of a user namespace with `maps`; stdout and stderr
 * are ours. `rootFd` (a directory) becomes its fd 3: a running container's
 * root must be opened from outside, where we may, and is then used from
 * inside, where its non-root users' files are ours to read and write.
 */
export async function spawnInUserns(maps: IdMaps, argv: string[], stdin: "inherit" | "pipe", rootFd?: number): Promise<Bun.Subprocess<"inherit" | "pipe", "inherit", "inherit">> {
  const args = [await shimPath(ctrPaths().data), "userns"];
  for (const m of maps.uidMappings) args.push("--uid-map", `${m.containerID}:${m.hostID}:${m.size}`);
  for (const m of maps.gidMappings) args.push("--gid-map", `${m.containerID}:${m.hostID}:${m.size}`);
  args.push("--", ...argv);
  const env: Record<string, string | undefined> = { ...process.env, [MARK]: "1" };
  if (rootFd === undefined) delete env[ROOT_FD];
  else env[ROOT_FD] = "3";
  const stdio = rootFd === undefined ? [stdin, "inherit", "inherit"] : [stdin, "inherit", "inherit", rootFd];
  return Bun.spawn(args, { stdio: stdio as ["inherit", "inherit", "inherit"], env }) as Bun.Subprocess<"inherit" | "pipe", "inherit", "inherit">;
}

/** This ctr binary, for a hidden helper verb (no global flags before it). */
export function selfBinary(): string[] {
  return Bun.main.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, Bun.main];
}

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
export async function rerunInUserns(maps: IdMaps): Promise<number | undefined> {
  if (!canEnter(maps)) return undefined;
  const proc = await spawnInUserns(maps, [...selfArgs(), ...process.argv.slice(2)], "inherit");
  return proc.exited;
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

/** Starts `argv` as root of a user namespace with `maps`; stdout and stderr are ours. */
export async function spawnInUserns(maps: IdMaps, argv: string[], stdin: "inherit" | "pipe"): Promise<Bun.Subprocess<"inherit" | "pipe", "inherit", "inherit">> {
  const args = [await shimPath(ctrPaths().data), "userns"];
  for (const m of maps.uidMappings) args.push("--uid-map", `${m.containerID}:${m.hostID}:${m.size}`);
  for (const m of maps.gidMappings) args.push("--gid-map", `${m.containerID}:${m.hostID}:${m.size}`);
  args.push("--", ...argv);
  return Bun.spawn(args, { stdio: [stdin, "inherit", "inherit"], env: { ...process.env, [MARK]: "1" } }) as Bun.Subprocess<"inherit" | "pipe", "inherit", "inherit">;
}

/** This ctr binary, for a hidden helper verb (no global flags before it). */
export function selfBinary(): string[] {
  return Bun.main.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, Bun.main];
}

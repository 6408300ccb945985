/**
 * Gives a fresh volume's files the owners a container expects. The user
 * cannot chown to subordinate ids from outside, so the chown runs as root
 * of a user namespace mapped like a rootless container's (`ctr-shim
 * userns`), where host id H is container id `toContainerId(H)`.
 */
import { CtrError } from "../errors.ts";
import type { IdMapping } from "../oci/runtime.ts";
import { shimPath } from "../runtime/shim.ts";
import { userIdMaps } from "../runtime/subid.ts";

/** The host id a container id maps to, or undefined when unmapped. */
export function hostIdOf(maps: IdMapping[], id: number): number | undefined {
  const m = maps.find((x) => id >= x.containerID && id < x.containerID + x.size);
  return m ? m.hostID + (id - m.containerID) : undefined;
}

function containerIdOf(maps: IdMapping[], hostId: number): number | undefined {
  const m = maps.find((x) => hostId >= x.hostID && hostId < x.hostID + x.size);
  return m ? m.containerID + (hostId - m.hostID) : undefined;
}

/**
 * Sets the host owners of `paths` (`"uid:gid"` → paths). Paths already owned
 * by the user need no entry.
 */
export async function chownAsHostIds(dataDir: string, owners: Map<string, string[]>): Promise<void> {
  if (owners.size === 0) return;
  const maps = userIdMaps();
  const shim = await shimPath(dataDir);
  // Chunks keep each command line well under ARG_MAX.
  const chunks: [string, string[]][] = [];
  for (const [owner, paths] of owners) for (let i = 0; i < paths.length; i += 500) chunks.push([owner, paths.slice(i, i + 500)]);
  for (const [owner, paths] of chunks) {
    const [hu, hg] = owner.split(":").map(Number) as [number, number];
    const cu = containerIdOf(maps.uidMappings, hu);
    const cg = containerIdOf(maps.gidMappings, hg);
    if (cu === undefined || cg === undefined) continue;
    const args = [shim, "userns"];
    for (const m of maps.uidMappings) args.push("--uid-map", `${m.containerID}:${m.hostID}:${m.size}`);
    for (const m of maps.gidMappings) args.push("--gid-map", `${m.containerID}:${m.hostID}:${m.size}`);
    args.push("--", "chown", "-h", `${cu}:${cg}`, "--", ...paths);
    const proc = Bun.spawnSync(args, { stdio: ["ignore", "ignore", "pipe"] });
    if (proc.exitCode !== 0) {
      throw new CtrError(`cannot set the owner of volume files: ${proc.stderr.toString().trim().split("\n")[0] ?? `exit ${proc.exitCode}`}`);
    }
  }
}

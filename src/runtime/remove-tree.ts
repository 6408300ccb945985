/**
 * Removes a directory tree that may hold files owned by the user's
 * subordinate ids (written by a container's non-root user, or unpacked with
 * their owners). The user cannot unlink those from outside, so on EACCES the
 * removal is redone as root of a user namespace with the same maps, through
 * `ctr-shim userns`, as `podman unshare rm` would.
 */
import { rmSync } from "node:fs";
import { CtrError } from "../errors.ts";
import { shimPath } from "./shim.ts";
import { userIdMaps } from "./subid.ts";

export async function removeTree(dataDir: string, path: string): Promise<void> {
  try {
    rmSync(path, { recursive: true, force: true });
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EACCES" && code !== "EPERM" && code !== "ENOTEMPTY") throw err;
  }
  const maps = userIdMaps();
  const args = [await shimPath(dataDir), "userns"];
  for (const m of maps.uidMappings) args.push("--uid-map", `${m.containerID}:${m.hostID}:${m.size}`);
  for (const m of maps.gidMappings) args.push("--gid-map", `${m.containerID}:${m.hostID}:${m.size}`);
  args.push("--", "/bin/rm", "-rf", "--", path);
  const proc = Bun.spawnSync(args, { stdio: ["ignore", "ignore", "pipe"] });
  if (proc.exitCode !== 0) {
    throw new CtrError(`cannot remove "${path}": ${proc.stderr.toString().trim().split("\n")[0] ?? `exit ${proc.exitCode}`}`);
  }
}

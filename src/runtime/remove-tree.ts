/**
 * Removes a directory tree that may hold files owned by the user's
 * subordinate ids (written by a container's non-root user, or unpacked with
 * their owners). The user cannot unlink those from outside, so on EACCES the
 * removal is redone as root of a user namespace with the same maps, through
 * `ctr-shim userns`, as `podman unshare rm` would.
 *
 * Most trees hold no such files, only directories of the user's own that
 * deny the user: overlayfs leaves `work/work` with mode 000 in every
 * container. Those are opened up with chmod first, so that removing a
 * container costs no user namespace (newuidmap and newgidmap are setuid
 * programs, about 5 ms together).
 */
import { chmodSync, lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
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
  if (openOwnDirs(path)) {
    try {
      rmSync(path, { recursive: true, force: true });
      return;
    } catch {
      // something in it is not the user's after all
    }
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

/**
 * Gives the user rwx on every directory of the tree the user owns; false as
 * soon as one is not the user's (only the user namespace can remove that).
 */
function openOwnDirs(path: string): boolean {
  const uid = process.getuid!();
  const walk = (dir: string): boolean => {
    let st;
    try {
      st = lstatSync(dir);
    } catch {
      return true; // gone already
    }
    if (!st.isDirectory()) return true;
    if (st.uid !== uid) return false;
    if ((st.mode & 0o700) !== 0o700) chmodSync(dir, (st.mode & 0o7777) | 0o700);
    return readdirSync(dir, { withFileTypes: true }).every((e) => !e.isDirectory() || walk(join(dir, e.name)));
  };
  try {
    return walk(path);
  } catch {
    return false;
  }
}

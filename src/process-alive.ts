/**
 * Whether a pid names a live process, by `kill(pid, 0)`: used to take over
 * locks, leases and state whose owner was killed. EPERM means it exists
 * (another user's), so only ESRCH counts as gone. A zombie counts as gone:
 * it holds nothing any more, and where pid 1 reaps orphans lazily (this
 * project's CI VMs) a killed owner can stay a zombie for a while.
 */
import { readFileSync } from "node:fs";

export function processAlive(pid: number | undefined): boolean {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
  return !isZombie(pid);
}

/** The state field of /proc/PID/stat follows the last ")" (the command name may hold one). */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  const state = stat.charAt(stat.lastIndexOf(")") + 2);
  return state === "Z" || state === "X";
}

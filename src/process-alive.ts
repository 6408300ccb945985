/**
 * Whether a pid names a live process, by `kill(pid, 0)`: used to take over
 * locks, leases and state whose owner was killed. EPERM means it exists
 * (another user's), so only ESRCH counts as gone.
 */
export function processAlive(pid: number | undefined): boolean {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

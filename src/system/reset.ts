/**
 * `system reset`: every container stopped and removed, network helpers
 * told to end, then the whole durable store (images, containers, volumes,
 * networks) and the runtime dir deleted. The next command starts from an
 * empty store, as after a first install.
 *
 * User-defined networks keep their configs under the data dir and their
 * holder processes' pids in `holder.pid` files (and their slirp4netns's in
 * `slirp.pid`) under the runtime dir's `networks/`; reset reads only those
 * files, not the network code.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ContainerRecord, ContainerStore } from "../runtime/container-store.ts";
import { processAlive } from "../process-alive.ts";
import { removeTree } from "../runtime/remove-tree.ts";
import { containerStateDir, readLiveState } from "../runtime/state.ts";

const PID_FILES = new Set(["holder.pid", "slirp.pid"]);

/** Pids in `holder.pid` and `slirp.pid` files at most `depth` levels under `dir`. */
export function holderPids(dir: string, depth = 3): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const path = join(dir, n);
    if (PID_FILES.has(n)) {
      try {
        const pid = Number(readFileSync(path, "utf8").trim());
        return Number.isInteger(pid) && pid > 1 ? [pid] : [];
      } catch {
        return [];
      }
    }
    try {
      return depth > 0 && statSync(path).isDirectory() ? holderPids(path, depth - 1) : [];
    } catch {
      return [];
    }
  });
}

export async function resetStore(
  paths: { data: string; runtime: string },
  containers: ContainerStore,
  removeContainer: (rec: ContainerRecord) => Promise<void>,
): Promise<void> {
  // A monitor may still run its container's exit command (a ctr process that
  // updates networks) after the removal returns; deleting the store under it
  // would let it create directories again. Wait for the monitors to end.
  const monitors: number[] = [];
  for (const c of containers.list()) {
    const shimPid = readLiveState(containerStateDir(c.id)).shimPid;
    if (shimPid && processAlive(shimPid)) monitors.push(shimPid);
    await removeContainer(c);
  }
  for (let waited = 0; waited < 10_000 && monitors.some(processAlive); waited += 50) await Bun.sleep(50);
  for (const pid of holderPids(join(paths.runtime, "networks"))) {
    if (!processAlive(pid)) continue;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // gone already
    }
  }
  await removeTree(paths.data, paths.runtime);
  await removeTree(paths.data, paths.data);
}

/**
 * The processes of a running container, found without cgroups: every
 * process in the pid namespace of the container's init. Used by top,
 * pause/unpause and stats.
 */
import { readdirSync, readFileSync, readlinkSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { join } from "node:path";
import { CtrError } from "../errors.ts";
import type { ContainerRecord } from "./container-store.ts";
import { stateDirOf } from "./container.ts";
import { readLiveState } from "./state.ts";

/** Host pids of every process in the container (its init first). */
export function containerPids(rec: ContainerRecord): number[] {
  const state = readLiveState(stateDirOf(rec.id));
  if (state.status !== "running" || !state.pid) throw new CtrError(`container ${rec.name} is not running`, { kind: "conflict" });
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${state.pid}/ns/pid`);
  } catch (err) {
    throw new CtrError(`cannot read the pid namespace of container ${rec.name}`, { cause: err });
  }
  const pids = [state.pid];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === state.pid) continue;
    try {
      if (readlinkSync(`/proc/${pid}/ns/pid`) === ns) pids.push(pid);
    } catch {
      // gone, or not ours to see
    }
  }
  return pids;
}

export interface ProcessUsage {
  /** utime + stime, in clock ticks (100 per second). */
  cpuTicks: number;
  rssBytes: number;
}

export function processUsage(pid: number): ProcessUsage | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rss = /VmRSS:\s*(\d+) kB/.exec(status);
    return { cpuTicks: Number(f[11]) + Number(f[12]), rssBytes: rss ? Number(rss[1]) * 1024 : 0 };
  } catch {
    return undefined;
  }
}

function pausedMarker(rec: ContainerRecord): string {
  return join(stateDirOf(rec.id), "paused");
}

export function isPaused(rec: ContainerRecord): boolean {
  return existsSync(pausedMarker(rec));
}

/**
 * `pause`: a rootless user on this host owns no cgroup, so there is no
 * freezer to use: every process of the container gets SIGSTOP (inspect
 * says so). Its init last on the way in, first on the way out, so it
 * cannot restart children meanwhile.
 */
export function pauseContainer(rec: ContainerRecord, pause: boolean): void {
  if (pause === isPaused(rec)) throw new CtrError(`container ${rec.name} is ${pause ? "already paused" : "not paused"}`, { kind: "conflict" });
  const pids = containerPids(rec);
  const ordered = pause ? [...pids.slice(1), pids[0]!] : pids;
  for (const pid of ordered) {
    try {
      process.kill(pid, pause ? "SIGSTOP" : "SIGCONT");
    } catch {
      // ended meanwhile
    }
  }
  if (pause) writeFileSync(pausedMarker(rec), "sigstop\n");
  else rmSync(pausedMarker(rec), { force: true });
}

/**
 * A container's live state, read from what its shim wrote under
 * `$XDG_RUNTIME_DIR/ctr/containers/<id>/` (see shim/PROTOCOL.md), checked
 * against the processes that really exist: a monitor killed with SIGKILL
 * shows as stopped, never as a stale "running".
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ctrPaths } from "../paths.ts";
import { processAlive } from "../process-alive.ts";

export type Status = "created" | "running" | "restarting" | "exited" | "stopped";

export interface LiveState {
  status: Status;
  pid?: number;
  shimPid?: number;
  exitCode?: number;
  signal?: number;
  /** Unix ms. */
  startedAt?: number;
  finishedAt?: number;
  /** Restarts done by the monitor for the restart policy. */
  restartCount?: number;
  /** ctr stopped or killed it (the `stopped` marker). */
  stoppedByUser?: boolean;
  /** `pause` stopped its processes (with SIGSTOP: no freezer cgroup is ours). */
  paused?: boolean;
  /** It ended by a signal ctr sent it (`kill`, `stop`), not by one of its own making. */
  killedByUser?: boolean;
}

function readNumber(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function readKeyValues(path: string): Record<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  return Object.fromEntries(text.split("\n").filter(Boolean).map((l) => l.split("=", 2) as [string, string]));
}

export function readExitFile(dir: string): { exitCode: number; signal: number; finishedAt: number } | undefined {
  const kv = readKeyValues(join(dir, "exit"));
  if (!kv) return undefined;
  return { exitCode: Number(kv.exitCode ?? 0), signal: Number(kv.signal ?? 0), finishedAt: Number(kv.finishedAt ?? 0) };
}

/**
 * `processAlive`, except that a zombie has ended: an orphaned monitor is
 * reaped by whoever adopted it, which may take its time (or never come,
 * under an init that does not reap).
 */
function running(pid: number | undefined): boolean {
  if (!processAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    // not visible in our /proc (another pid namespace): kill(2) said it exists
    return true;
  }
}

export function readLiveState(stateDir: string): LiveState {
  const started = readKeyValues(join(stateDir, "started"));
  const common: Partial<LiveState> = {
    startedAt: started?.startedAt ? Number(started.startedAt) : undefined,
    restartCount: started?.restartCount ? Number(started.restartCount) : undefined,
    stoppedByUser: existsSync(join(stateDir, "stopped")),
    paused: existsSync(join(stateDir, "paused")),
  };
  const shimPid = readNumber(join(stateDir, "shim.pid"));
  const pid = readNumber(join(stateDir, "pid"));
  const exit = readExitFile(stateDir);
  // Between two runs of a restart policy; a monitor killed meanwhile restarts nothing.
  if (existsSync(join(stateDir, "restarting")) && running(shimPid)) return { ...common, status: "restarting", ...exit, pid, shimPid };
  if (exit) return { ...common, status: "exited", ...exit, pid, shimPid, killedByUser: killedByUser(stateDir, exit, common.startedAt) };
  if (shimPid === undefined) return { status: "created" };
  if (running(shimPid)) return { ...common, status: pid ? "running" : "created", pid, shimPid };
  // The monitor is gone without recording an exit: it was killed. Its
  // container may live on (it survives its monitor once exec'd): kill(2)
  // tells, as long as the pid has not been reused.
  if (pid && processAlive(pid) && sameProcessStart(pid, common.startedAt)) return { ...common, status: "running", pid, shimPid };
  return { ...common, status: "stopped", pid, shimPid };
}

/** The run ended by the signal ctr recorded sending it (file `killed`, written by ctr), during that run. */
function killedByUser(stateDir: string, exit: { signal: number; finishedAt: number }, startedAt: number | undefined): boolean {
  const kill = readKeyValues(join(stateDir, "killed"));
  if (!kill || exit.signal === 0 || Number(kill.signal) !== exit.signal) return false;
  const sentAt = Number(kill.sentAt);
  return sentAt <= exit.finishedAt && (startedAt === undefined || sentAt >= startedAt);
}

/**
 * Whether `pid` started around `startedAt` (unix ms), from /proc's start
 * time, so a recycled pid is not taken for the container.
 */
function sameProcessStart(pid: number, startedAt: number | undefined): boolean {
  if (!startedAt) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // A zombie has ended; whoever adopted it just has not reaped it yet.
    if (fields[0] === "Z" || fields[0] === "X") return false;
    const ticks = Number(fields[19]);
    const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    const started = Date.now() - (uptime - ticks / 100) * 1000;
    return Math.abs(started - startedAt) < 5000;
  } catch {
    return false;
  }
}

export function clearState(stateDir: string): void {
  rmSync(stateDir, { recursive: true, force: true });
}

/** A container's live-state directory (pids, exit, sockets) under the runtime dir. */
export function containerStateDir(id: string): string {
  return join(ctrPaths().runtime, "containers", id);
}

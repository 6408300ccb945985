/**
 * A container's live state, read from what its shim wrote under
 * `$XDG_RUNTIME_DIR/ctr/containers/<id>/` (see shim/PROTOCOL.md), checked
 * against the processes that really exist: a monitor killed with SIGKILL
 * shows as stopped, never as a stale "running".
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

export type Status = "created" | "running" | "exited" | "stopped";

export interface LiveState {
  status: Status;
  pid?: number;
  shimPid?: number;
  exitCode?: number;
  signal?: number;
  finishedAt?: number;
}

function readNumber(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function readExitFile(dir: string): { exitCode: number; signal: number; finishedAt: number } | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, "exit"), "utf8");
  } catch {
    return undefined;
  }
  const kv = Object.fromEntries(text.split("\n").filter(Boolean).map((l) => l.split("=", 2) as [string, string]));
  return { exitCode: Number(kv.exitCode ?? 0), signal: Number(kv.signal ?? 0), finishedAt: Number(kv.finishedAt ?? 0) };
}

export function readLiveState(stateDir: string): LiveState {
  const exit = readExitFile(stateDir);
  if (exit) return { status: "exited", ...exit };
  const shimPid = readNumber(join(stateDir, "shim.pid"));
  const pid = readNumber(join(stateDir, "pid"));
  if (shimPid === undefined) return { status: "created" };
  if (alive(shimPid)) return { status: pid ? "running" : "created", pid, shimPid };
  // The monitor is gone without recording an exit: it was killed.
  return { status: "stopped", pid, shimPid };
}

export function clearState(stateDir: string): void {
  rmSync(stateDir, { recursive: true, force: true });
}

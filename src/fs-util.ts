/**
 * Small file helpers used by every store: atomic writes and a lock file.
 *
 * Everything a store makes visible goes to a temporary name first and is
 * renamed into place, so a reader (or a crash) never sees half a file.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { CtrError } from "./errors.ts";
import { processAlive } from "./process-alive.ts";

export function tmpName(path: string): string {
  return `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Writes `data` to `path` through a temporary file and a rename. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tmpName(path);
  try {
    writeFileSync(tmp, data, { mode });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export function readJson<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

const LOCK_WAIT_MS = 60_000;

/**
 * Runs `fn` holding an exclusive lock file. A lock whose holder process is
 * gone (killed mid-pull) is taken over, so a crash never wedges the store.
 * The lock is advisory between ctr processes of one user.
 */
export async function withLock<T>(lockPath: string, fn: () => T | Promise<T>): Promise<T> {
  mkdirSync(dirname(lockPath), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  let delay = 2;
  for (;;) {
    try {
      const fd = openSync(lockPath, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (holderIsGone(lockPath)) {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new CtrError(`timed out waiting for lock "${lockPath}"`, { kind: "unavailable" });
      await Bun.sleep(delay);
      delay = Math.min(delay * 2, 50);
    }
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(lockPath);
    } catch {
      // already taken over as stale: nothing to release
    }
  }
}

/** How long an empty lock file may take to get its pid before it counts as abandoned. */
const EMPTY_LOCK_STALE_MS = 5_000;

function holderIsGone(lockPath: string): boolean {
  let text: string;
  let age: number;
  try {
    text = readFileSync(lockPath, "utf8");
    age = Date.now() - statSync(lockPath).mtimeMs;
  } catch {
    return false; // being written right now
  }
  // Empty: a lock being taken right now, or one whose taker was killed
  // between creating it and writing its pid (a SIGKILLed pull); only the
  // latter is still empty seconds later.
  if (text === "") return age > EMPTY_LOCK_STALE_MS;
  const pid = Number(text);
  return Number.isInteger(pid) && pid > 0 && !processAlive(pid);
}

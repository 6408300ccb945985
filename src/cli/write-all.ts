/** Blocking writes to stdout or a file for verbs that stream archives (`save`, `export`, `cp … -`). */
import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { tmpName } from "../fs-util.ts";

/** Writes all of `chunk` to `fd`, waiting out EAGAIN on a non-blocking pipe. */
export function writeAll(fd: number, chunk: Uint8Array): void {
  for (let off = 0; off < chunk.length; ) {
    try {
      off += writeSync(fd, chunk, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/**
 * Streams an archive to stdout, or to `output` under a temporary name that
 * is renamed in only when `produce` succeeds, so a failed save or export
 * leaves no half archive at OUTPUT.
 */
export async function writeArchive(output: string | undefined, produce: (write: (chunk: Uint8Array) => void) => Promise<void>): Promise<void> {
  if (!output) {
    await produce((c) => writeAll(1, c));
    return;
  }
  const tmp = tmpName(output);
  const fd = openSync(tmp, "w", 0o644);
  try {
    await produce((c) => writeAll(fd, c));
    closeSync(fd);
    renameSync(tmp, output);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw err;
  }
}

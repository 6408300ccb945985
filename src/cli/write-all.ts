/** Blocking writes to stdout or a file for verbs that stream archives (`save`, `export`, `cp … -`). */
import { writeSync } from "node:fs";

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

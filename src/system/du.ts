/**
 * Disk usage as `du -sb` counts it: the apparent size (`st_size`) of every
 * entry under a path, directories and symlinks included, a hard-linked
 * file once however many names it has. `system df` and `system prune`
 * report these numbers so that a user can check them with `du`.
 */
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Inodes already counted (`dev:ino`): share one across calls to count hard links once, as one `du` run does. */
export type SeenInodes = Set<string>;

/**
 * Bytes under `path`, 0 when it does not exist. A directory that cannot be
 * read (owned by a subordinate id, mode 0700) counts only itself, as `du`
 * counts it when it reports "Permission denied".
 */
export function diskUsage(path: string, seen: SeenInodes = new Set()): number {
  let st;
  try {
    st = lstatSync(path, { bigint: false });
  } catch {
    return 0;
  }
  if (!st.isDirectory() && st.nlink > 1) {
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return 0;
    seen.add(key);
  }
  let total = st.size;
  if (st.isDirectory()) {
    let names: string[];
    try {
      names = readdirSync(path);
    } catch {
      return total;
    }
    for (const n of names) total += diskUsage(join(path, n), seen);
  }
  return total;
}

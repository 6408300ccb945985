/**
 * Reads a file of an image without mounting it: the top-most layer that has
 * the path wins, and a whiteout above it hides it. Used before a container
 * starts, e.g. to resolve `--user` names from `/etc/passwd`.
 */
import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** `layerDirs` bottom-most first, as the image lists them. Returns undefined if absent. */
export function readImageFile(layerDirs: string[], path: string): string | undefined {
  const rel = path.replace(/^\/+/, "");
  for (let i = layerDirs.length - 1; i >= 0; i--) {
    const full = join(layerDirs[i]!, rel);
    let st;
    try {
      st = lstatSync(full);
    } catch {
      continue;
    }
    // An overlay whiteout is a character device 0/0: the file was deleted in this layer.
    if (st.isCharacterDevice()) return undefined;
    if (!st.isFile()) return undefined;
    return readFileSync(full, "utf8");
  }
  return undefined;
}

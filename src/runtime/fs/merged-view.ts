/**
 * The merged filesystem of a stack of overlay layer directories, computed
 * in TS without mounting: what overlayfs would show with `layers` as lower
 * dirs (and the last one as upper). Whiteouts are what overlayfs writes and
 * what `applyLayer` unpacks to: a character device 0/0, or (overlay's
 * xattr-based form) a zero-size file with `user.overlay.whiteout`; an
 * opaque directory has `user.overlay.opaque=y` and hides everything below
 * it. See https://docs.kernel.org/filesystems/overlayfs.html.
 */
import { lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { join } from "node:path";
import { lgetxattr } from "../../host/libc.ts";

/** One visible file: `rel` in the merged view, found at `path` in one layer. */
export interface FsNode {
  /** Relative path without leading slash; "" for the root. */
  rel: string;
  /** Host path in the layer that provides it. */
  path: string;
  st: Stats;
}

const OPAQUE_XATTRS = ["user.overlay.opaque", "trusted.overlay.opaque"];
const WHITEOUT_XATTRS = ["user.overlay.whiteout", "trusted.overlay.whiteout"];

function xattr(path: string, name: string): Uint8Array | undefined {
  try {
    return lgetxattr(path, name);
  } catch {
    // trusted.* is unreadable for an unprivileged user: not set, as far as we can know.
    return undefined;
  }
}

/** True for overlay's whiteout forms. */
export function isWhiteout(path: string, st: Stats): boolean {
  if (st.isCharacterDevice() && st.rdev === 0) return true;
  return st.isFile() && st.size === 0 && WHITEOUT_XATTRS.some((x) => xattr(path, x) !== undefined);
}

/** True for a directory that hides the lower layers' directory of the same name. */
export function isOpaque(path: string): boolean {
  return OPAQUE_XATTRS.some((x) => {
    const v = xattr(path, x);
    return v !== undefined && v[0] === 0x79;
  });
}

function lstatOrUndefined(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

export class MergedView {
  /** @param layers layer directories, bottom-most first */
  constructor(readonly layers: string[]) {}

  /**
   * The directories that make up merged directory `rel`, top-most first:
   * from the top-most layer that has it down to an opaque one, stopping at
   * a layer where a whiteout or non-directory replaces it. Undefined when
   * `rel` is not a visible directory.
   */
  private dirStack(rel: string): string[] | undefined {
    let stack: string[] = [];
    for (let i = this.layers.length - 1; i >= 0; i--) {
      stack.push(this.layers[i]!);
      if (isOpaque(this.layers[i]!)) break;
    }
    if (rel === "") return stack;
    for (const part of rel.split("/")) {
      const next: string[] = [];
      let found = false;
      for (const dir of stack) {
        const p = join(dir, part);
        const st = lstatOrUndefined(p);
        if (!st) continue;
        if (!st.isDirectory()) {
          if (!found) return undefined;
          break;
        }
        found = true;
        next.push(p);
        if (isOpaque(p)) break;
      }
      if (!found) return undefined;
      stack = next;
    }
    return stack;
  }

  /** The visible file at `rel` (no leading slash), or undefined. */
  lookup(rel: string): FsNode | undefined {
    rel = clean(rel);
    if (rel === "") {
      const top = this.dirStack("")![0]!;
      return { rel, path: top, st: lstatSync(top) };
    }
    const slash = rel.lastIndexOf("/");
    const parent = this.dirStack(slash < 0 ? "" : rel.slice(0, slash));
    if (!parent) return undefined;
    const name = rel.slice(slash + 1);
    for (const dir of parent) {
      const p = join(dir, name);
      const st = lstatOrUndefined(p);
      if (!st) continue;
      return isWhiteout(p, st) ? undefined : { rel, path: p, st };
    }
    return undefined;
  }

  /**
   * `rel` with symlinks in its directory part followed inside the view (an
   * absolute target starts again at the view's root, `..` stops there), as
   * a path resolved inside the container would be. The last component is
   * followed too when `followLast`. Undefined after 40 links (a loop).
   */
  resolve(rel: string, followLast = false): string | undefined {
    const todo = clean(rel).split("/").filter(Boolean);
    const done: string[] = [];
    for (let hops = 0; todo.length > 0; ) {
      const part = todo.shift()!;
      if (part === "..") {
        done.pop();
        continue;
      }
      const here = [...done, part].join("/");
      const node = todo.length > 0 || followLast ? this.lookup(here) : undefined;
      if (node?.st.isSymbolicLink()) {
        if (++hops > 40) return undefined;
        const target = readlinkSync(node.path, "utf8");
        if (target.startsWith("/")) done.length = 0;
        todo.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
        continue;
      }
      done.push(part);
    }
    return done.join("/");
  }

  /** The visible entries of directory `rel`, sorted by name. */
  readdir(rel: string): FsNode[] {
    rel = clean(rel);
    const stack = this.dirStack(rel) ?? [];
    const seen = new Map<string, FsNode | null>();
    for (const dir of stack) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        if (seen.has(name)) continue;
        const p = join(dir, name);
        const st = lstatSync(p);
        seen.set(name, isWhiteout(p, st) ? null : { rel: rel === "" ? name : `${rel}/${name}`, path: p, st });
      }
    }
    return [...seen.values()].filter((n): n is FsNode => n !== null).sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  }

  /** Every visible file under `rel` (itself included), parents before children. */
  *walk(rel = ""): Generator<FsNode> {
    const node = this.lookup(rel);
    if (!node) return;
    yield node;
    if (node.st.isDirectory()) yield* this.walkChildren(node.rel);
  }

  private *walkChildren(rel: string): Generator<FsNode> {
    for (const child of this.readdir(rel)) {
      yield child;
      if (child.st.isDirectory()) yield* this.walkChildren(child.rel);
    }
  }
}

/** A container path as a relative path: no leading, trailing or doubled slashes, no `.`. */
export function clean(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}

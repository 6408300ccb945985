/**
 * A container's filesystem seen from outside: what it changed (`diff`), its
 * writable layer as a new image (`commit`), and its whole merged tree as a
 * tar (`export`). All read the layer directories directly, no mount needed.
 */
import { closeSync, lstatSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CtrError } from "../../errors.ts";
import type { TarSink } from "../../image/archive/tar-writer.ts";
import { TarWriter } from "../../image/archive/tar-writer.ts";
import { commitImage } from "../../image/commit.ts";
import type { ImageContext } from "../../image/image-context.ts";
import type { ImageRecord } from "../../image/store/image-store.ts";
import type { IdMapping, Spec } from "../../oci/runtime.ts";
import type { ContainerRecord } from "../container-store.ts";
import { readLiveState } from "../state.ts";
import { stateDirOf } from "../container.ts";
import { upperChanges, walkUpper, writeTree, type Change } from "./layer-diff.ts";
import { MergedView } from "./merged-view.ts";
import { canEnter, inContainerUserns, inheritedRoot, rerunInUserns } from "./userns.ts";

/** The id maps the container runs with, from its bundle (container ids ↔ host ids). */
export function bundleIdMaps(rec: ContainerRecord): { uidMappings: IdMapping[]; gidMappings: IdMapping[] } {
  const spec = JSON.parse(readFileSync(join(rec.bundle, "config.json"), "utf8")) as Spec;
  return { uidMappings: spec.linux?.uidMappings ?? [], gidMappings: spec.linux?.gidMappings ?? [] };
}

/** How to turn the owners ctr sees into container ids: none needed inside the container's user namespace. */
export function containerIdMaps(rec: ContainerRecord): { uidMappings?: IdMapping[]; gidMappings?: IdMapping[] } {
  return inContainerUserns() ? {} : bundleIdMaps(rec);
}

/**
 * Runs the current command again in the container's user namespace when
 * files of its non-root users may be in the way; see `userns.ts`.
 */
export function rerunForContainer(rec: ContainerRecord): Promise<number | undefined> {
  return rerunInUserns(bundleIdMaps(rec));
}

/**
 * For a running container: runs the current command again in a user
 * namespace mapped like the container's, handing it the container's root
 * (its init's `/proc/PID/root`: the mounted overlay with every volume, as
 * the container sees it). Opening it takes ptrace rights over the
 * container's processes, which we have from outside (we own its user
 * namespace); reading and writing files of its non-root users takes being
 * root of a namespace where their ids are mapped, which we are inside.
 * Nothing runs in the container, so it needs no tools of its own.
 */
export async function rerunForRunningContainer(rec: ContainerRecord): Promise<number | undefined> {
  const maps = bundleIdMaps(rec);
  const pid = readLiveState(stateDirOf(rec.id)).pid;
  if (!canEnter(maps) || !pid) return undefined;
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/root/.`, "r");
  } catch (err) {
    throw new CtrError(`cannot reach the root of container ${rec.name}`, { cause: err });
  }
  try {
    return await rerunInUserns(maps, fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A running container's root as a path we can use: the one handed to us
 * by {@link rerunForRunningContainer}, else its init's `/proc/PID/root`
 * (enough when only our own id is mapped, or we are root).
 */
export function liveRoot(rec: ContainerRecord): string {
  const inherited = inheritedRoot();
  if (inherited) return inherited;
  const pid = readLiveState(stateDirOf(rec.id)).pid;
  if (!pid) throw new CtrError(`container ${rec.name} is not running`, { kind: "conflict" });
  return `/proc/${pid}/root/.`;
}

/** The container's merged filesystem: image layers with its upper dir on top. */
export function containerView(rec: ContainerRecord): MergedView {
  return new MergedView([...rec.rootfs.lowerDirs, rec.rootfs.upperDir]);
}

export function isRunning(rec: ContainerRecord): boolean {
  const s = readLiveState(stateDirOf(rec.id)).status;
  return s === "running" || s === "restarting";
}

/**
 * Upper-dir paths that are only mount points ctr made for files it manages
 * (`/etc/hosts`, `/etc/resolv.conf`, …): empty files the image did not
 * have. Neither `diff` nor `commit` shows them, as in docker and podman.
 */
function mountPointsOnly(rec: ContainerRecord): Set<string> {
  const spec = JSON.parse(readFileSync(join(rec.bundle, "config.json"), "utf8")) as Spec;
  const lower = new MergedView(rec.rootfs.lowerDirs);
  const out = new Set<string>();
  for (const m of spec.mounts ?? []) {
    const rel = m.destination.replace(/^\/+/, "");
    const st = lstatSync(join(rec.rootfs.upperDir, rel), { throwIfNoEntry: false });
    if (st?.isFile() && st.size === 0 && !lower.lookup(rel)) out.add(rel);
  }
  return out;
}

/** docker's `diff`: A/C/D against the image. */
export function containerChanges(rec: ContainerRecord): Change[] {
  const skip = mountPointsOnly(rec);
  return upperChanges(rec.rootfs.upperDir, rec.rootfs.lowerDirs).filter((c) => !skip.has(c.path.slice(1)));
}

export interface CommitContainerOptions {
  name?: string;
  changes: string[];
  message?: string;
  author?: string;
}

/** The container's upper dir as a new layer on its image. */
export async function commitContainer(ctx: ImageContext, rec: ContainerRecord, opts: CommitContainerOptions): Promise<ImageRecord> {
  const base = ctx.images.find(rec.imageId);
  if (!base) throw new CtrError(`image ${rec.imageId.slice(7, 19)} of container ${rec.name} is no longer stored`, { kind: "not-found" });
  const maps = containerIdMaps(rec);
  const skip = mountPointsOnly(rec);
  return commitImage(ctx, {
    base,
    changes: opts.changes,
    message: opts.message,
    author: opts.author,
    name: opts.name,
    createdBy: rec.command.join(" "),
    produce: (tw) => writeTree(tw, [...walkUpper(rec.rootfs.upperDir)].filter((n) => !skip.has(n.rel)), maps),
  });
}

/** The merged filesystem as a tar: owners as the container sees them, whiteouts applied. */
export async function exportContainer(rec: ContainerRecord, sink: TarSink): Promise<void> {
  const tw = new TarWriter(sink);
  await writeTree(tw, containerView(rec).walk(), containerIdMaps(rec));
  await tw.finish();
}

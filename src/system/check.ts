/**
 * `system check`: reads the store into a {@link CheckInput} (rehashing
 * every blob unless `quick`), and with `repair` removes what
 * {@link planRepair} names, through the stores' own removal functions.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { CtrError } from "../errors.ts";
import { withLock } from "../fs-util.ts";
import type { ImageContext } from "../image/image-context.ts";
import type { ImageConfig } from "../oci/image.ts";
import type { ContainerRecord, ContainerStore } from "../runtime/container-store.ts";
import { isBindVolume, type VolumeStore } from "../volume/store.ts";
import { findProblems, planRepair, type CheckInput, type Problem } from "./check-plan.ts";
import { containerLayers, layerRecord, readDoc } from "./facts.ts";

async function blobOk(ctx: ImageContext, digest: string, quick: boolean): Promise<boolean> {
  try {
    if (quick) return statSync(ctx.content.path(digest)).isFile();
    const hasher = new Bun.CryptoHasher("sha256");
    for await (const chunk of Bun.file(ctx.content.path(digest)).stream()) hasher.update(chunk);
    return `sha256:${hasher.digest("hex")}` === digest;
  } catch {
    return false;
  }
}

function readConfig(ctx: ImageContext, digest: string): Partial<ImageConfig> | null | undefined {
  if (!ctx.content.has(digest)) return undefined;
  try {
    const c = ctx.content.readJson<Partial<ImageConfig>>(digest);
    return c && typeof c === "object" ? c : null;
  } catch {
    return null;
  }
}

export async function readCheckInput(ctx: ImageContext, containers: ContainerStore, volumes: VolumeStore, quick: boolean): Promise<CheckInput> {
  const blobs = [];
  for (const digest of ctx.content.list()) blobs.push({ digest, ok: await blobOk(ctx, digest, quick) });
  const layers = ctx.layers.list().map((diffId) => {
    const rec = layerRecord(ctx, diffId);
    const diff = ctx.layers.diffDir(diffId);
    return { diffId, complete: rec?.diffId === diffId && existsSync(diff) && statSync(diff).isDirectory() };
  });
  const images = ctx.images.list().map((img) => ({
    id: img.id,
    names: img.names,
    manifestDigest: img.manifestDigest,
    indexDigest: img.indexDigest,
    layers: img.layers,
    manifest: ctx.content.has(img.manifestDigest) ? readDoc(ctx, img.manifestDigest) ?? null : undefined,
    config: readConfig(ctx, img.id),
  }));
  return { blobs, layers, images, containers: containers.list().map((c) => containerInput(containers, volumes, c)) };
}

function containerInput(store: ContainerStore, volumes: VolumeStore, rec: ContainerRecord): CheckInput["containers"][number] {
  const dir = store.dir(rec.id);
  const missing = [join(dir, "upper"), join(dir, "work"), join(rec.bundle, "config.json")].filter((p) => !existsSync(p));
  const missingVolumes = (rec.mounts ?? []).flatMap((m) => {
    if (m.Type !== "volume" || !m.Name) return [];
    const v = volumes.find(m.Name);
    const gone = !v || (v.Options.type !== "tmpfs" && !isBindVolume(v.Options) && !existsSync(v.Mountpoint));
    return gone ? [m.Name] : [];
  });
  return { id: rec.id, name: rec.name, layers: containerLayers(rec), missing, missingVolumes };
}

export interface CheckResult {
  problems: Problem[];
  /** What `repair` removed, one line each. */
  removed: string[];
  /** Problems still there. */
  left: Problem[];
}

/**
 * @param removeContainer removes one container for good (the runtime's, with force)
 * @throws CtrError (unavailable) when repairing while a pull or load is writing to the store
 */
export async function checkStore(
  ctx: ImageContext,
  containers: ContainerStore,
  volumes: VolumeStore,
  opts: { quick: boolean; repair: boolean; force: boolean; removeContainer: (rec: ContainerRecord) => Promise<void> },
): Promise<CheckResult> {
  const first = await readCheckInput(ctx, containers, volumes, opts.quick);
  const problems = findProblems(first);
  if (!opts.repair || problems.length === 0) return { problems, removed: [], left: problems };
  const removed: string[] = [];
  // Under the collector's lock, as gc: no pull or load commits meanwhile.
  const left = await withLock(ctx.leases.lockFile, async () => {
    if (ctx.leases.anyLive()) throw new CtrError("cannot repair the store while a pull or load is writing to it: try again when it is done", { kind: "unavailable" });
    // What changed since the first reading (an image a pull has just named)
    // is judged again; blobs keep the first reading's verdict (a blob never
    // changes, and one committed since was verified on its way in).
    const again = await readCheckInput(ctx, containers, volumes, true);
    const verdict = new Map(first.blobs.map((b) => [b.digest, b.ok]));
    again.blobs = again.blobs.map((b) => ({ digest: b.digest, ok: verdict.get(b.digest) ?? b.ok }));
    const plan = planRepair(findProblems(again), opts.force);
    for (const id of plan.containers) {
      const rec = containers.list().find((c) => c.id === id);
      if (!rec) continue;
      await opts.removeContainer(rec);
      removed.push(`removed container ${rec.name} (${id.slice(0, 12)})`);
    }
    const drop = new Set(plan.images);
    const names = new Map(ctx.images.list().map((i) => [i.id, i.names[0] ?? "<none>"]));
    await ctx.images.update((images) => {
      for (let i = images.length - 1; i >= 0; i--) if (drop.has(images[i]!.id)) images.splice(i, 1);
    });
    for (const id of plan.images) removed.push(`removed image ${names.get(id) ?? "<none>"} (${id.slice(7, 19)})`);
    for (const d of plan.layers) {
      await ctx.layers.remove(d);
      removed.push(`removed layer ${d}`);
    }
    for (const d of plan.blobs) {
      ctx.content.remove(d);
      removed.push(`removed blob ${d}`);
    }
    return plan.left;
  });
  return { problems, removed, left };
}

/**
 * `system prune`: carries out {@link planPrune} and measures each item
 * (`du -sb`) just before it goes, so the total reported is what was freed.
 * Containers first (their networks, volumes and images are then unused),
 * networks (not the default one, as podman's), volumes,
 * images, and last the layers and blobs no image or container needs any
 * more, under the image store's collector lock (see image/gc.ts).
 */
import { withLock } from "../fs-util.ts";
import type { ImageContext } from "../image/image-context.ts";
import { pruneNetworks } from "../network/manage.ts";
import type { ContainerRecord, ContainerStore } from "../runtime/container-store.ts";
import { pruneVolumes } from "../volume/remove.ts";
import type { VolumeStore } from "../volume/store.ts";
import { diskUsage } from "./du.ts";
import { containerLayers, gatherFacts, imageFacts } from "./facts.ts";
import { garbage, needed, planPrune } from "./usage.ts";

export interface PruneResult {
  containers: string[];
  /** Names of the networks no container uses (never the default one). */
  networks: string[];
  volumes: string[];
  /** Image IDs without `sha256:`. */
  images: string[];
  /** Bytes freed, layers and blobs included. */
  bytes: number;
}

export interface PruneDeps {
  images: ImageContext;
  containers: ContainerStore;
  volumes: VolumeStore;
  /** Removes a container that is not running; throws if it runs (then it stays). */
  removeContainer: (rec: ContainerRecord) => Promise<void>;
}

export async function systemPrune(deps: PruneDeps, opts: { all: boolean; volumes: boolean }): Promise<PruneResult> {
  const facts = gatherFacts(deps.images, deps.containers, deps.volumes);
  const plan = planPrune(facts, opts);
  const result: PruneResult = { containers: [], networks: [], volumes: [], images: [], bytes: 0 };

  for (const c of plan.containers) {
    let rec: ContainerRecord;
    try {
      rec = deps.containers.get(c.id);
    } catch {
      continue; // removed meanwhile
    }
    const bytes = diskUsage(deps.containers.dir(c.id));
    try {
      await deps.removeContainer(rec);
    } catch {
      continue; // started meanwhile
    }
    result.bytes += bytes;
    result.containers.push(c.id);
  }

  result.networks = await pruneNetworks();

  if (plan.volumes.length > 0) {
    const names = new Set(plan.volumes.map((v) => v.name));
    result.volumes = await pruneVolumes(deps.volumes, () => deps.containers.list(), (v) => names.has(v.Name), (v) => {
      result.bytes += diskUsage(deps.volumes.dir(v.Name));
    });
  }

  const ctx = deps.images;
  await withLock(ctx.leases.lockFile, async () => {
    const drop = new Set(plan.images.map((i) => i.id));
    // Holds before records: a container being created holds its image until its record is written.
    const held = ctx.leases.held();
    await ctx.images.update((images) => {
      // A container created since the plan keeps its image.
      const used = new Set([...held.images, ...deps.containers.list().map((c) => c.imageId)]);
      for (let i = images.length - 1; i >= 0; i--) {
        const id = images[i]!.id;
        if (!drop.has(id) || used.has(id)) continue;
        images.splice(i, 1);
        result.images.push(id.slice(7));
      }
    });
    // A pull or load under way may be committing content no image names yet.
    if (ctx.leases.anyLive()) return;
    const now = imageFacts(ctx);
    const containers = [{ layers: [...held.layers] }, ...deps.containers.list().map((c) => ({ layers: containerLayers(c) }))];
    const keep = needed(now, now.images, containers);
    for (const id of held.images) keep.blobs.add(id);
    const trash = garbage(now, keep);
    for (const d of trash.layers) {
      await ctx.layers.remove(d);
      result.bytes += now.layers.get(d)!;
    }
    for (const d of trash.blobs) {
      ctx.content.remove(d);
      result.bytes += now.blobs.get(d)!;
    }
  });
  return result;
}

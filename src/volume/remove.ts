/**
 * Removing volumes: never one a container still lists among its mounts,
 * nor one a container being created has taken (see store.ts).
 * The data may hold files a container's non-root user wrote (owned by
 * subordinate ids), so removal goes through `removeTree`.
 */
import { CtrError } from "../errors.ts";
import type { ContainerRecord } from "../runtime/container-store.ts";
import { removeTree } from "../runtime/remove-tree.ts";
import type { VolumeRecord, VolumeStore } from "./store.ts";

/** The containers whose mounts name `volume`. */
export function containersUsing(containers: ContainerRecord[], volume: string): ContainerRecord[] {
  return containers.filter((c) => (c.mounts ?? []).some((m) => m.Type === "volume" && m.Name === volume));
}

/**
 * Removes one volume; refuses (conflict) while a container uses it or one
 * being created has taken it. `containers` is read under the store's lock.
 */
export async function removeVolume(store: VolumeStore, name: string, containers: () => ContainerRecord[]): Promise<void> {
  await store.locked(async () => {
    const vol = store.get(name);
    const users = containersUsing(containers(), vol.Name);
    if (users.length > 0) {
      throw new CtrError(`volume ${name} is being used by the following container(s): ${users.map((c) => c.id).join(", ")}: volume is being used`, { kind: "conflict" });
    }
    if (store.leasedNames().has(vol.Name)) throw new CtrError(`volume ${name} is being used by a container being created: volume is being used`, { kind: "conflict" });
    await removeTree(store.root, store.dir(vol.Name));
  });
}

/**
 * Removes every volume no container uses nor one being created has taken
 * (`filter` narrows the candidates). `beforeRemove` sees each one just
 * before it goes (`system prune` measures it there).
 */
export async function pruneVolumes(
  store: VolumeStore,
  containers: () => ContainerRecord[],
  filter: (v: VolumeRecord) => boolean = () => true,
  beforeRemove: (v: VolumeRecord) => void = () => {},
): Promise<string[]> {
  return store.locked(async () => {
    const removed: string[] = [];
    const all = containers();
    const leased = store.leasedNames();
    for (const v of store.list()) {
      if (!filter(v) || leased.has(v.Name) || containersUsing(all, v.Name).length > 0) continue;
      beforeRemove(v);
      await removeTree(store.root, store.dir(v.Name));
      removed.push(v.Name);
    }
    return removed;
  });
}

/** `rm -v`: the anonymous volumes made for `removed`, unless another container (`--volumes-from`) uses them. */
export async function removeAnonymousVolumes(store: VolumeStore, removed: ContainerRecord, containers: ContainerRecord[]): Promise<void> {
  const mine = (removed.mounts ?? []).filter((m) => m.Type === "volume" && m.Anonymous && m.Name);
  if (mine.length === 0) return;
  await store.locked(async () => {
    // Another container being created may be taking it with --volumes-from.
    const leased = store.leasedNames(true);
    for (const m of mine) {
      if (!store.find(m.Name!) || leased.has(m.Name!)) continue;
      if (containersUsing(containers.filter((c) => c.id !== removed.id), m.Name!).length > 0) continue;
      await removeTree(store.root, store.dir(m.Name!));
    }
  });
}

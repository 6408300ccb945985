/**
 * Removing volumes: never one a container still lists among its mounts.
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

/** Removes one volume; refuses (conflict) while a container uses it. */
export async function removeVolume(store: VolumeStore, name: string, containers: ContainerRecord[]): Promise<void> {
  const vol = store.get(name);
  const users = containersUsing(containers, vol.Name);
  if (users.length > 0) {
    throw new CtrError(`volume ${name} is being used by the following container(s): ${users.map((c) => c.id).join(", ")}: volume is being used`, { kind: "conflict" });
  }
  await removeTree(store.root, store.dir(vol.Name));
}

/** Removes every volume no container uses (`all: false`: only anonymous ones, as docker's default). */
export async function pruneVolumes(store: VolumeStore, containers: ContainerRecord[], filter: (v: VolumeRecord) => boolean = () => true): Promise<string[]> {
  const removed: string[] = [];
  for (const v of store.list()) {
    if (!filter(v) || containersUsing(containers, v.Name).length > 0) continue;
    await removeTree(store.root, store.dir(v.Name));
    removed.push(v.Name);
  }
  return removed;
}

/** `rm -v`: the anonymous volumes made for `removed`, unless another container (`--volumes-from`) uses them. */
export async function removeAnonymousVolumes(store: VolumeStore, removed: ContainerRecord, containers: ContainerRecord[]): Promise<void> {
  for (const m of removed.mounts ?? []) {
    if (m.Type !== "volume" || !m.Anonymous || !m.Name || !store.find(m.Name)) continue;
    if (containersUsing(containers.filter((c) => c.id !== removed.id), m.Name).length > 0) continue;
    await removeTree(store.root, store.dir(m.Name));
  }
}

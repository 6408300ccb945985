/**
 * Address allocation on a user-defined network (and the default one):
 * `ipam.json` in the network's run dir (see `networkRunDir`) maps each
 * address in use to its container, changed under a lock. Nobody frees an
 * address when a container ends on its own or its monitor is killed, so
 * an allocation that finds no address (or not the one asked for) first
 * sweeps the entries of containers that no longer run. Sweeping only then
 * keeps a run from reading the state of every other container.
 */
import { join } from "node:path";
import { CtrError } from "../errors.ts";
import { readJson, withLock, writeJsonAtomic } from "../fs-util.ts";
import { networkRunDir, subnetOf, type NetworkRecord } from "./store.ts";
import { containerRange, contains, formatSubnet, ipToNumber, numberToIp, type Subnet } from "./subnet.ts";

/** Address → container id. */
export type Allocations = Record<string, string>;

/** One address in use: its container, and whether it publishes ports through the network's slirp4netns. */
export interface IpamEntry {
  id: string;
  ports?: boolean;
}

/** `ipam.json`: address → entry (a bare id in files of older ctr versions). */
type IpamFile = Record<string, string | IpamEntry>;

function entryOf(v: string | IpamEntry): IpamEntry {
  return typeof v === "string" ? { id: v } : v;
}

function idsOf(entries: Record<string, IpamEntry>): Allocations {
  return Object.fromEntries(Object.entries(entries).map(([ip, e]) => [ip, e.id]));
}

/**
 * Picks the address for `containerId`: the one it holds already, else the
 * requested one (`--ip`), else the lowest free one. Pure.
 *
 * @throws CtrError when the requested address is outside the range or taken, or the subnet is full
 */
export function pickAddress(subnet: Subnet, allocations: Allocations, containerId: string, requested?: string): string {
  const { first, last } = containerRange(subnet);
  const held = Object.entries(allocations).find(([, id]) => id === containerId)?.[0];
  if (requested !== undefined) {
    const n = ipToNumber(requested);
    if (n === undefined) throw new CtrError(`invalid IP address "${requested}"`, { kind: "invalid" });
    if (!contains(subnet, n) || n < first || n > last) {
      throw new CtrError(`IP address ${requested} is not in the range ${numberToIp(first)}-${numberToIp(last)} of subnet ${formatSubnet(subnet)}`, { kind: "invalid" });
    }
    const owner = allocations[requested];
    if (owner !== undefined && owner !== containerId) throw new CtrError(`IP address ${requested} is already in use by container ${owner.slice(0, 12)}`, { kind: "conflict" });
    return requested;
  }
  if (held !== undefined) return held;
  for (let n = first; n <= last; n++) if (allocations[numberToIp(n)] === undefined) return numberToIp(n);
  throw new CtrError(`no free IP address left in subnet ${formatSubnet(subnet)}`, { kind: "conflict" });
}

type NetworkRef = Pick<NetworkRecord, "id">;

function ipamFile(network: NetworkRef): string {
  return join(networkRunDir(network), "ipam.json");
}

function lockOf(network: NetworkRef): string {
  return join(networkRunDir(network), "ipam.lock");
}

function readEntries(network: NetworkRef): Record<string, IpamEntry> {
  let raw: IpamFile | undefined;
  try {
    raw = readJson<IpamFile>(ipamFile(network));
  } catch {
    raw = undefined;
  }
  return Object.fromEntries(Object.entries(raw ?? {}).map(([ip, v]) => [ip, entryOf(v)]));
}

export function readAllocations(network: NetworkRef): Allocations {
  return idsOf(readEntries(network));
}

export interface AllocateOptions {
  /** The container publishes ports through this network's slirp4netns. */
  ports?: boolean;
  /**
   * Called under the lock with the addresses whose port forwards may be
   * left over (entries with `ports` swept, or the container's own from a
   * run whose monitor was killed): removing them there means no other
   * container has been given the address meanwhile.
   */
  dropForwards?: (ips: string[]) => Promise<void>;
}

/**
 * Allocates an address on `net` for `containerId` (the same one again when
 * it has one); when none is free (or not the one asked for), first sweeps
 * the entries of containers for which `stale` holds.
 */
export async function allocateAddress(net: NetworkRecord, containerId: string, requested: string | undefined, stale: (id: string) => boolean, opts: AllocateOptions = {}): Promise<string> {
  return withLock(lockOf(net), async () => {
    const kept = readEntries(net);
    const leftovers: string[] = [];
    for (const [ip, e] of Object.entries(kept)) {
      if (e.id !== containerId) continue;
      if (e.ports) leftovers.push(ip);
      // Our own entry goes when another address is asked for this time.
      if (requested !== undefined && requested !== ip) delete kept[ip];
    }
    let ip: string;
    try {
      ip = pickAddress(subnetOf(net), idsOf(kept), containerId, requested);
    } catch (err) {
      if (!(err instanceof CtrError) || err.kind !== "conflict") throw err;
      for (const [other, e] of Object.entries(kept)) {
        if (e.id === containerId || !stale(e.id)) continue;
        delete kept[other];
        if (e.ports) leftovers.push(other);
      }
      ip = pickAddress(subnetOf(net), idsOf(kept), containerId, requested);
    }
    for (const [other, e] of Object.entries(kept)) if (e.id === containerId && other !== ip) delete kept[other];
    kept[ip] = { id: containerId, ...(opts.ports ? { ports: true } : {}) };
    writeJsonAtomic(ipamFile(net), kept);
    if (leftovers.length && opts.dropForwards) await opts.dropForwards(leftovers);
    return ip;
  });
}

/**
 * Frees whatever `containerId` holds on `network`; `dropForwards` as in
 * {@link allocateAddress}, for its addresses that published ports.
 */
export async function releaseAddress(network: NetworkRef, containerId: string, dropForwards?: (ips: string[]) => Promise<void>): Promise<void> {
  await withLock(lockOf(network), async () => {
    const current = readEntries(network);
    const mine = Object.entries(current).filter(([, e]) => e.id === containerId);
    if (mine.length === 0) return;
    for (const [ip] of mine) delete current[ip];
    writeJsonAtomic(ipamFile(network), current);
    const ports = mine.filter(([, e]) => e.ports).map(([ip]) => ip);
    if (ports.length && dropForwards) await dropForwards(ports);
  });
}

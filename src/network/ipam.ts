/**
 * Address allocation on a user-defined network:
 * `ipam.json` in the network's run dir (see `networkRunDir`) maps each address in
 * use to its container's id, changed under a lock. Nobody frees an address
 * when a container ends on its own or its monitor is killed, so every
 * allocation first sweeps the entries of containers that no longer run.
 */
import { join } from "node:path";
import { CtrError } from "../errors.ts";
import { readJson, withLock, writeJsonAtomic } from "../fs-util.ts";
import { networkRunDir, subnetOf, type NetworkRecord } from "./store.ts";
import { containerRange, contains, formatSubnet, ipToNumber, numberToIp, type Subnet } from "./subnet.ts";

/** Address → container id. */
export type Allocations = Record<string, string>;

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

export function readAllocations(network: NetworkRef): Allocations {
  try {
    return readJson<Allocations>(ipamFile(network)) ?? {};
  } catch {
    return {};
  }
}

/**
 * Allocates an address on `net` for `containerId` (the same one again when
 * it has one), sweeping the entries of containers for which `stale` holds.
 */
export async function allocateAddress(net: NetworkRecord, containerId: string, requested: string | undefined, stale: (id: string) => boolean): Promise<string> {
  return withLock(lockOf(net), () => {
    const current = readAllocations(net);
    const kept: Allocations = {};
    for (const [ip, id] of Object.entries(current)) {
      // Our own entry goes too when another address is asked for this time.
      if (id === containerId ? requested === undefined || requested === ip : !stale(id)) kept[ip] = id;
    }
    const ip = pickAddress(subnetOf(net), kept, containerId, requested);
    kept[ip] = containerId;
    writeJsonAtomic(ipamFile(net), kept);
    return ip;
  });
}

/** Frees whatever `containerId` holds on `network`. */
export async function releaseAddress(network: NetworkRef, containerId: string): Promise<void> {
  await withLock(lockOf(network), () => {
    const current = readAllocations(network);
    const kept = Object.fromEntries(Object.entries(current).filter(([, id]) => id !== containerId));
    if (Object.keys(kept).length !== Object.keys(current).length) writeJsonAtomic(ipamFile(network), kept);
  });
}

/**
 * A container's endpoints on user-defined networks while it runs:
 * `networks.json` in its state dir (address, interface, the veth's host
 * end per network), written when it starts and on connect/disconnect.
 * Read by inspect, ps, the hosts files of its peers, and the IP sweep.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "../fs-util.ts";
import { ctrPaths } from "../paths.ts";
import { ContainerStore, type ContainerRecord } from "../runtime/container-store.ts";
import { containerStateDir, readLiveState } from "../runtime/state.ts";

export interface Endpoint {
  networkId: string;
  /** Address without the prefix. */
  ip: string;
  prefixLen: number;
  gateway: string;
  /** In the container, `eth0`… */
  interface: string;
  /** The veth's host end, in the network's holder. */
  hostInterface: string;
  mac?: string;
}

/** Network name → endpoint. */
export type Endpoints = Record<string, Endpoint>;


export { containerStateDir };

export function allContainers(): ContainerRecord[] {
  return new ContainerStore(ctrPaths().data).list();
}

/**
 * The containers that run now, found through their state dirs: only their
 * records are read, not those of every container in the store.
 */
export function runningContainers(): ContainerRecord[] {
  let ids: string[];
  try {
    ids = readdirSync(join(ctrPaths().runtime, "containers"));
  } catch {
    return [];
  }
  const store = new ContainerStore(ctrPaths().data);
  const out: ContainerRecord[] = [];
  for (const id of ids) {
    if (!/^[0-9a-f]{64}$/.test(id) || !isRunning(id)) continue;
    try {
      out.push(store.get(id));
    } catch {
      // removed meanwhile
    }
  }
  return out;
}

function file(stateDir: string): string {
  return join(stateDir, "networks.json");
}

export function readEndpoints(stateDir: string): Endpoints {
  try {
    return JSON.parse(readFileSync(file(stateDir), "utf8")) as Endpoints;
  } catch {
    return {};
  }
}

export function writeEndpoints(stateDir: string, endpoints: Endpoints): void {
  writeJsonAtomic(file(stateDir), endpoints);
}

/** The veth's host end: unique per network (one per container), at most 15 bytes. */
export function hostInterfaceName(containerId: string): string {
  return `ctr${containerId.slice(0, 12)}`;
}

/**
 * The MAC address of a container's interface, derived from its IP as
 * docker once did (02:42 + the address's bytes). slirp4netns keeps an ARP
 * table that nobody flushes: a new container given a freed address must
 * answer to the MAC slirp4netns remembers, or forwards to it are lost.
 */
export function macFor(ip: string): string {
  return ["02", "42", ...ip.split(".").map((b) => Number(b).toString(16).padStart(2, "0"))].join(":");
}

/** The first `ethN` not in use. */
export function nextInterface(used: string[]): string {
  for (let i = 0; ; i++) if (!used.includes(`eth${i}`)) return `eth${i}`;
}

/** The networks a container was asked to be on, in order. */
export function networksOf(rec: ContainerRecord): string[] {
  return rec.network?.mode === "bridge" ? Object.keys(rec.network.networks ?? {}) : [];
}

export function isRunning(id: string): boolean {
  const s = readLiveState(containerStateDir(id)).status;
  return s === "running" || s === "restarting";
}

/** How long a started-but-not-yet-running container keeps its address. */
const STARTING_GRACE_MS = 30_000;

/**
 * Whether an address held by container `id` may be taken back: the
 * container is gone, has ended, or its monitor was killed; or it never
 * got past starting (its endpoints written long ago, no monitor).
 */
export function holdsNothing(id: string): boolean {
  if (!existsSync(join(ctrPaths().data, "containers", id, "container.json"))) return true;
  const stateDir = containerStateDir(id);
  const s = readLiveState(stateDir).status;
  if (s === "running" || s === "restarting") return false;
  if (s !== "created") return true;
  try {
    return Date.now() - statSync(file(stateDir)).mtimeMs > STARTING_GRACE_MS;
  } catch {
    // Being started: the address is taken before the endpoints are written.
    return false;
  }
}

/**
 * What a container's start needs from networking, by mode: the helper for
 * the shim to run, the resolver for resolv.conf, and the ports to publish
 * once the helper runs. The one entry point `container.ts` calls.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { CtrError } from "../errors.ts";
import { readJson, writeJsonAtomic } from "../fs-util.ts";
import type { Spec } from "../oci/runtime.ts";
import type { ContainerRecord } from "../runtime/container-store.ts";
import { addHostLines, wantsHostGateway } from "./add-host.ts";
import { NETWORK_ATTACHMENTS_ANNOTATION, type NetAttachment } from "../runtime/shim.ts";
import { holdsNothing, hostInterfaceName, macFor, writeEndpoints, type Endpoints } from "./endpoints.ts";
import { BRIDGE, ensureHolder, liveHolder } from "./holder.ts";
import { PEERS_MARKER, peerLinesFor, refreshHosts } from "./hosts.ts";
import { allocateAddress, readAllocations, releaseAddress } from "./ipam.ts";
import { SLIRP, type NetworkMode } from "./mode.ts";
import { parsePortSpec, type PortMapping } from "./ports.ts";
import { hostForwardRequest, reserveHostPorts, slirpHelperArgv, writePorts } from "./slirp.ts";
import { DEFAULT_NETWORK, networkStore, subnetOf } from "./store.ts";
import { dnsAddress, gatewayAddress } from "./subnet.ts";
import { startContainerModeNetwork } from "./container-mode.ts";
import { startPastaNetwork } from "./pasta.ts";
import type { EtcFiles } from "../runtime/etc-files.ts";

/** A container's options on one user-defined network. */
export interface NetworkAttachOptions {
  /** `--network-alias` (and `--alias` of `network connect`). */
  aliases?: string[];
  /** `--ip`: the address asked for. */
  ip?: string;
}

export interface ContainerNetwork {
  mode: NetworkMode;
  allowHostLoopback?: boolean;
  publish: string[];
  addHosts?: string[];
  /** Mode bridge: the user-defined networks by name, in order (the first gives the default route and the published ports). */
  networks?: Record<string, NetworkAttachOptions>;
  /** `--link NAME[:ALIAS]`. */
  links?: string[];
  /** `--dns`: name servers instead of the network's. */
  dns?: string[];
  /** Mode container: the id of the container whose network is joined. */
  container?: string;
  /** `-P`: `publish` already holds the image's EXPOSEd ports; kept for inspect. */
  publishAll?: boolean;
  /** Mode pasta: `pasta:OPTIONS`. */
  pastaOptions?: string[];
}

export interface StartedNetwork {
  /** For the shim's `--net-helper`; absent: no helper. */
  helper?: string[];
  /** For the shim's `--net-helper-request`: the port forwards, set up before the container runs (and at each restart). */
  requests?: string[];
  /** User-defined network: where the requests go (the network's slirp4netns API socket) instead of a helper's. */
  apiSocket?: string;
  /** For resolv.conf and hosts (`selfAddress`: the container's own address, for its own name). */
  dns?: { nameservers?: string[]; keepLoopback?: boolean; hosts?: string[]; selfAddress?: string };
  /** Records the published ports for ps, port and inspect, and tells peers (call after `ready`). */
  publish(): Promise<void>;
  /** Mode container: replaces the `/etc` files written from `dns` with the other container's. */
  writeEtc?: (files: EtcFiles) => void;
}

const nothing = async () => {};

/**
 * Prepares the network of a container about to start. A record without
 * `network` predates networking and keeps its private namespace with `lo` only.
 * `rec` is needed for user-defined networks (its bundle is updated to join them).
 *
 * @throws CtrError when a host port is taken or slirp4netns is missing
 */
export async function startNetwork(net: ContainerNetwork | undefined, stateDir: string, log: (line: string) => void, rec?: ContainerRecord): Promise<StartedNetwork> {
  const publish = net?.publish ?? [];
  const mode = net?.mode ?? "none";
  const addHosts = net?.addHosts ?? [];
  const nameservers = net?.dns?.length ? net.dns : undefined;
  switch (mode) {
    case "none":
      if (publish.length) throw new CtrError(`cannot publish ports with --network none: ${publish.join(", ")}`, { kind: "invalid" });
      return { dns: { nameservers, hosts: addHostLines(addHosts, mode) }, publish: nothing };
    case "host":
      if (publish.length) log("WARN: published ports are discarded when using host network mode");
      return { dns: { nameservers, keepLoopback: true, hosts: addHostLines(addHosts, mode) }, publish: nothing };
    case "bridge":
      if (!rec) throw new CtrError("internal error: a container on a user-defined network started without its record");
      return startUserNetworks(net!, stateDir, rec);
    case "container":
      if (!rec || !net?.container) throw new CtrError("internal error: a container in network mode container started without its record");
      return startContainerModeNetwork(net.container, rec.bundle);
    case "pasta":
      return startPastaNetwork(net!, stateDir);
    default: {
      // Asking for the host by name opens its loopback, unless the user said otherwise.
      const allowHostLoopback = net?.allowHostLoopback ?? wantsHostGateway(addHosts);
      const helper = slirpHelperArgv({ mode: "slirp4netns", allowHostLoopback });
      const ports = await reservePorts(publish);
      return {
        helper,
        requests: ports.map((m) => hostForwardRequest(m)),
        dns: { nameservers: nameservers ?? [SLIRP.dns], hosts: addHostLines(addHosts, mode) },
        publish: async () => {
          if (ports.length) writePorts(stateDir, ports);
        },
      };
    }
  }
}

/**
 * The container's networks as it starts: each network's holder running,
 * an address on each, the bundle's config.json joining the network user
 * namespace with one attachment per network (see shim/PROTOCOL.md), and
 * the published ports forwarded by the first network's slirp4netns.
 */
async function startUserNetworks(net: ContainerNetwork, stateDir: string, rec: ContainerRecord): Promise<StartedNetwork> {
  try {
    return await joinUserNetworks(net, stateDir, rec);
  } catch (err) {
    // A start that fails here gives its addresses back at once (`--ip` may be retried).
    for (const name of Object.keys(net.networks ?? {})) {
      const n = networkStore().find(name);
      if (n) await releaseAddress(n, rec.id).catch(() => {});
    }
    throw err;
  }
}

async function joinUserNetworks(net: ContainerNetwork, stateDir: string, rec: ContainerRecord): Promise<StartedNetwork> {
  const store = networkStore();
  const names = Object.keys(net.networks ?? {});
  const nets = names.map((n) => store.get(n));
  const publish = net.publish ?? [];
  if (nets.length === 0) {
    // Disconnected from every network: only `lo`, as with --network none.
    if (publish.length) throw new CtrError(`cannot publish ports: container ${rec.name} is on no network`, { kind: "invalid" });
    joinNetworkNamespaces(rec.bundle, undefined, []);
    return { dns: { hosts: addHostLines(net.addHosts ?? [], "none") }, publish: nothing };
  }
  const primary = nets[0]!;
  if (publish.length && primary.internal) throw new CtrError(`cannot publish ports on internal network "${primary.name}": ${publish.join(", ")}`, { kind: "invalid" });
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const endpoints: Endpoints = {};
  const attachments: NetAttachment[] = [];
  let userns = "";
  let apiSocket: string | undefined;
  for (const [i, n] of nets.entries()) {
    const holder = await ensureHolder(n);
    userns = holder.userns;
    if (i === 0) apiSocket = holder.apiSocket;
    const ip = await allocateAddress(n, rec.id, net.networks?.[n.name]?.ip, holdsNothing, { ports: i === 0 && publish.length > 0, dropForwards: forwardDropper(holder.apiSocket) });
    const subnet = subnetOf(n);
    const iface = `eth${i}`;
    endpoints[n.name] = { networkId: n.id, ip, prefixLen: subnet.prefix, gateway: gatewayAddress(subnet), interface: iface, hostInterface: hostInterfaceName(rec.id), mac: macFor(ip) };
    attachments.push(attachmentFor(holder.netns, endpoints[n.name]!, i === 0 && !n.internal));
  }
  writeEndpoints(stateDir, endpoints);
  const self = endpoints[primary.name]!;
  let requests: string[] = [];
  let ports: PortMapping[] = [];
  if (apiSocket && publish.length) {
    ports = await reservePorts(publish);
    requests = ports.map((m) => hostForwardRequest(m, self.ip));
  }
  joinNetworkNamespaces(rec.bundle, userns, attachments);
  const gateway = gatewayAddress(subnetOf(primary));
  const peers = peerLinesFor(rec);
  // Alone on the default network: no peers section, as docker's default bridge has none.
  const named = peers.length > 0 || names.some((n) => n !== DEFAULT_NETWORK);
  return {
    requests,
    apiSocket: requests.length ? apiSocket : undefined,
    dns: {
      nameservers: net.dns?.length ? net.dns : [dnsAddress(subnetOf(primary))],
      hosts: [...addHostLines(net.addHosts ?? [], "bridge", gateway), ...(named ? [PEERS_MARKER, ...peers] : [])],
      selfAddress: self.ip,
    },
    publish: async () => {
      if (ports.length) writePorts(stateDir, ports);
      await refreshHosts(names);
    },
  };
}

/**
 * The host ports for `publish`, checked free. A port in use may be held by
 * the forward of a container whose monitor was killed: only then are the
 * networks' forwards swept, and the ports tried again.
 */
async function reservePorts(publish: string[]): Promise<PortMapping[]> {
  if (publish.length === 0) return [];
  try {
    return await reserveHostPorts(publish.map(parsePortSpec));
  } catch (err) {
    if (!(err instanceof CtrError) || err.kind !== "conflict") throw err;
    await sweepStaleForwards();
    return reserveHostPorts(publish.map(parsePortSpec));
  }
}

/**
 * Removes the port forwards of every running network's slirp4netns whose
 * container is gone: a killed monitor never removed them, and they hold
 * their host ports. Best effort.
 */
export async function sweepStaleForwards(): Promise<void> {
  for (const n of networkStore().list()) {
    const holder = n.internal ? undefined : liveHolder(n);
    if (!holder?.apiSocket) continue;
    const held = new Set(Object.entries(readAllocations(n)).filter(([, id]) => !holdsNothing(id)).map(([ip]) => ip));
    const { removeForwards } = await import("./slirp-api.ts");
    await removeForwards(holder.apiSocket, (f) => !held.has(f.guest_addr));
  }
}

/**
 * What removes the port forwards to some addresses from a network's
 * slirp4netns (see `allocateAddress`); its API client is loaded only then.
 */
export function forwardDropper(apiSocket: string | undefined): ((ips: string[]) => Promise<void>) | undefined {
  if (!apiSocket) return undefined;
  return async (ips) => {
    const { removeForwards } = await import("./slirp-api.ts");
    await removeForwards(apiSocket, (f) => ips.includes(f.guest_addr)).catch(() => {});
  };
}

/** The shim's attachment for an endpoint (`gateway` only on the one giving the default route). */
export function attachmentFor(netns: string, ep: Endpoints[string], defaultRoute: boolean): NetAttachment {
  return {
    netns,
    bridge: BRIDGE,
    hostInterface: ep.hostInterface,
    interface: ep.interface,
    address: `${ep.ip}/${ep.prefixLen}`,
    ...(defaultRoute ? { gateway: ep.gateway } : {}),
    mtu: SLIRP.mtu,
    ...(ep.mac ? { mac: ep.mac } : {}),
  };
}

/**
 * Points the bundle's config.json at the network user namespace (joined by
 * path: the shim then writes no id maps) and lists the attachments; with
 * no `userns`, undoes both (the container left its last network).
 */
export function joinNetworkNamespaces(bundle: string, userns: string | undefined, attachments: NetAttachment[]): void {
  const path = join(bundle, "config.json");
  const spec = readJson<Spec>(path);
  if (!spec?.linux) throw new CtrError(`cannot read the container's config "${path}"`);
  spec.linux.namespaces = spec.linux.namespaces.map((ns) => (ns.type === "user" ? (userns ? { type: "user", path: userns } : { type: "user" }) : ns));
  spec.annotations ??= {};
  if (attachments.length) spec.annotations[NETWORK_ATTACHMENTS_ANNOTATION] = JSON.stringify(attachments);
  else delete spec.annotations[NETWORK_ATTACHMENTS_ANNOTATION];
  writeJsonAtomic(path, spec);
}

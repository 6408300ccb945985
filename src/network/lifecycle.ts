/**
 * User-defined networks across a container's life: what `create` records,
 * what happens when it ends or is removed (its address freed, its peers'
 * hosts files rewritten), and `network connect` / `disconnect`.
 */
import { CtrError } from "../errors.ts";
import { ctrPaths } from "../paths.ts";
import type { ContainerRecord, ContainerStore } from "../runtime/container-store.ts";
import { netAttachArgv, netDetachArgv, shimErrorText, shimPath } from "../runtime/shim.ts";
import { readLiveState } from "../runtime/state.ts";
import { allContainers, containerStateDir, holdsNothing, hostInterfaceName, macFor, networksOf, nextInterface, readEndpoints, writeEndpoints } from "./endpoints.ts";
import { ensureHolder, liveHolder } from "./holder.ts";
import { refreshHosts } from "./hosts.ts";
import { allocateAddress, releaseAddress } from "./ipam.ts";
import { parseNetworkMode, type NetworkConfig } from "./mode.ts";
import { attachmentFor, forwardDropper, type ContainerNetwork } from "./start.ts";
import { DEFAULT_NETWORK, networkStore, subnetOf, type NetworkRecord } from "./store.ts";
import { wantsHostGateway } from "./add-host.ts";
import { gatewayAddress } from "./subnet.ts";
import { isIP } from "./ip-address.ts";
import { networkContainerId } from "./container-mode.ts";

function checkIp(flag: string, ip: string): string {
  if (isIP(ip) !== 4) throw new CtrError(`invalid ${flag} "${ip}": expected an IPv4 address`, { kind: "invalid" });
  return ip;
}

/**
 * What `create` records of the network flags, checked before anything is
 * created: the networks exist, `--ip` and `--network-alias` go with a
 * user-defined network, `--link` names a container.
 *
 * @throws CtrError (kind "invalid" or "not-found") naming the flag
 */
export function containerNetwork(opts: { network?: NetworkConfig; publish?: string[]; addHosts?: string[]; userns?: string; hostname?: string }, containers: ContainerStore): ContainerNetwork {
  const n = opts.network ?? parseNetworkMode(undefined);
  const out: ContainerNetwork = { mode: n.mode, allowHostLoopback: n.allowHostLoopback, publish: opts.publish ?? [], addHosts: opts.addHosts };
  for (const d of n.dns ?? []) checkIp("--dns", d);
  if (n.dns?.length) out.dns = n.dns;
  if (n.mode !== "bridge") {
    if (n.aliases?.length) throw new CtrError("--network-alias is only supported with user-defined networks", { kind: "invalid" });
    if (n.ip !== undefined) throw new CtrError("--ip is only supported with a user-defined network", { kind: "invalid" });
    if (n.links?.length) throw new CtrError("--link is only supported with user-defined networks", { kind: "invalid" });
    if (n.mode === "container") out.container = networkContainerId(n.container!, { ...opts, dns: n.dns }, containers);
    if (n.pastaOptions?.length) out.pastaOptions = n.pastaOptions;
    return out;
  }
  const requests = n.networks ?? [];
  if (requests.length === 1 && requests[0]!.name === DEFAULT_NETWORK) {
    // Where the shared default network cannot serve, a slirp4netns of the
    // container's own, as before it existed: a keep-id user namespace is
    // not the network user namespace, and the shared slirp4netns keeps the
    // host's loopback closed to every container.
    if (opts.userns === "keep-id" || wantsHostGateway(opts.addHosts ?? [])) {
      const { ip, aliases } = requests[0]!;
      return containerNetwork({ ...opts, network: { ...n, mode: "slirp4netns", networks: undefined, ip: ip ?? n.ip, aliases: [...(aliases ?? []), ...(n.aliases ?? [])] } }, containers);
    }
    if (n.aliases?.length || requests[0]!.aliases?.length) throw new CtrError(`--network-alias is only supported with user-defined networks: the default network "${DEFAULT_NETWORK}" gives no names`, { kind: "invalid" });
  }
  if (opts.userns === "keep-id") throw new CtrError("--userns=keep-id with a user-defined network is not supported yet", { kind: "invalid" });
  if (n.ip !== undefined && requests.length !== 1) throw new CtrError("--ip can only be set for a single network", { kind: "invalid" });
  const store = networkStore();
  out.networks = {};
  for (const r of requests) {
    const net = store.find(r.name);
    if (!net) throw new CtrError(`unsupported network mode "${r.name}": not a mode, and no network has that name`, { kind: "not-found", exitCode: 125 });
    const ip = r.ip ?? n.ip;
    if (ip !== undefined) checkIp("--ip", ip);
    const aliases = [...(r.aliases ?? []), ...(n.aliases ?? [])];
    out.networks[net.name] = { ...(aliases.length ? { aliases } : {}), ...(ip !== undefined ? { ip } : {}) };
    if ((out.publish.length > 0) && net.internal && requests[0] === r) throw new CtrError(`cannot publish ports on internal network "${net.name}"`, { kind: "invalid" });
  }
  for (const l of n.links ?? []) {
    const name = l.split(":")[0]!;
    try {
      containers.get(name);
    } catch {
      throw new CtrError(`invalid --link "${l}": no such container "${name}"`, { kind: "not-found", exitCode: 125 });
    }
  }
  if (n.links?.length) out.links = n.links;
  return out;
}

/**
 * The monitor's exit command for a container on user-defined networks:
 * once it has ended for good, its peers forget it.
 */
export function networkExitCommand(rec: ContainerRecord): string[] | undefined {
  // The default network has no names to update, and its addresses are
  // swept when needed: no second start of ctr for each container's end.
  if (networksOf(rec).every((n) => n === DEFAULT_NETWORK)) return undefined;
  const paths = ctrPaths();
  return [process.execPath, "--root", paths.data, "--runroot", paths.runtime, "network-exited", rec.id];
}

/** After a container ended or was removed: its addresses freed, its peers' hosts rewritten. */
export async function containerLeftNetworks(id: string, networks?: string[]): Promise<void> {
  const store = networkStore();
  const names = networks ?? store.list().map((n) => n.name);
  for (const name of names) {
    const net = store.find(name);
    if (net) await releaseAddress(net, id, async (ips) => forwardDropper(net.internal ? undefined : liveHolder(net)?.apiSocket)?.(ips)).catch(() => {});
  }
  await refreshHosts(names);
}

/** Containers (any state) that belong to the network. */
export function containersOn(net: NetworkRecord, records: ContainerRecord[] = allContainers()): ContainerRecord[] {
  return records.filter((r) => networksOf(r).includes(net.name));
}

async function runShim(argv: string[], what: string): Promise<void> {
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new CtrError(`${what}: ${shimErrorText(err)}`);
}

function runningPid(rec: ContainerRecord): number | undefined {
  const s = readLiveState(containerStateDir(rec.id));
  return s.status === "running" && s.pid ? s.pid : undefined;
}

/**
 * `network connect`: records the network on the container and, if it
 * runs, attaches it now (a new `ethN` with its address).
 */
export async function connectContainer(net: NetworkRecord, rec: ContainerRecord, opts: { aliases?: string[]; ip?: string }, containers: ContainerStore): Promise<void> {
  if (rec.network?.mode !== "bridge") throw new CtrError(`cannot connect container ${rec.name} to network "${net.name}": it uses network mode ${rec.network?.mode ?? "none"}`, { kind: "invalid" });
  if (networksOf(rec).includes(net.name)) throw new CtrError(`container ${rec.name} is already connected to network "${net.name}"`, { kind: "conflict" });
  if (opts.ip !== undefined) checkIp("--ip", opts.ip);
  const pid = runningPid(rec);
  const options = { ...(opts.aliases?.length ? { aliases: opts.aliases } : {}), ...(opts.ip !== undefined ? { ip: opts.ip } : {}) };
  if (pid !== undefined) {
    const stateDir = containerStateDir(rec.id);
    const endpoints = readEndpoints(stateDir);
    const holder = await ensureHolder(net);
    const ip = await allocateAddress(net, rec.id, opts.ip, holdsNothing);
    const subnet = subnetOf(net);
    const ep = { networkId: net.id, ip, prefixLen: subnet.prefix, gateway: gatewayAddress(subnet), interface: nextInterface(Object.values(endpoints).map((e) => e.interface)), hostInterface: hostInterfaceName(rec.id), mac: macFor(ip) };
    try {
      // A container that had no network yet gets its default route here.
      const attachment = attachmentFor(holder.netns, ep, Object.keys(endpoints).length === 0 && !net.internal);
      await runShim(netAttachArgv(await shimPath(ctrPaths().data), pid, attachment), `cannot connect container ${rec.name} to network "${net.name}"`);
    } catch (err) {
      await releaseAddress(net, rec.id);
      throw err;
    }
    writeEndpoints(stateDir, { ...endpoints, [net.name]: ep });
  }
  await containers.update(rec.id, (r) => {
    r.network!.networks = { ...(r.network!.networks ?? {}), [net.name]: options };
  });
  await refreshHosts(networksOf({ ...rec, network: { ...rec.network, networks: { ...(rec.network.networks ?? {}), [net.name]: options } } }));
}

/** `network disconnect`: forgets the network and, if the container runs, removes its interface now. */
export async function disconnectContainer(net: NetworkRecord, rec: ContainerRecord, containers: ContainerStore): Promise<void> {
  if (!networksOf(rec).includes(net.name)) throw new CtrError(`container ${rec.name} is not connected to network "${net.name}"`, { kind: "not-found", exitCode: 125 });
  const pid = runningPid(rec);
  if (pid !== undefined) {
    const stateDir = containerStateDir(rec.id);
    const endpoints = readEndpoints(stateDir);
    const ep = endpoints[net.name];
    if (ep) await runShim(netDetachArgv(await shimPath(ctrPaths().data), pid, ep.interface), `cannot disconnect container ${rec.name} from network "${net.name}"`);
    delete endpoints[net.name];
    writeEndpoints(stateDir, endpoints);
  }
  const names = networksOf(rec);
  await containers.update(rec.id, (r) => {
    delete r.network!.networks![net.name];
  });
  await releaseAddress(net, rec.id);
  await refreshHosts(names);
}

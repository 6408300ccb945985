/**
 * `network rm`, `prune` and `inspect` as domain operations: removal
 * refuses a network in use unless forced (then its containers go first),
 * and always stops the network's holder. The default network stays.
 */
import { CtrError } from "../errors.ts";
import type { ContainerRecord } from "../runtime/container-store.ts";
import { allContainers, containerStateDir, isRunning, readEndpoints } from "./endpoints.ts";
import { stopHolder } from "./holder.ts";
import { containersOn } from "./lifecycle.ts";
import { DEFAULT_NETWORK, networkStore, type NetworkRecord } from "./store.ts";

/**
 * Removes a network. In use (by any container, running or not): refused,
 * unless `removeContainer` is given (`-f`), which removes them first.
 *
 * @throws CtrError (kind "conflict") naming the network and its containers
 */
export async function removeNetwork(net: NetworkRecord, removeContainer?: (rec: ContainerRecord) => Promise<void>): Promise<void> {
  if (net.name === DEFAULT_NETWORK) throw new CtrError(`default network ${DEFAULT_NETWORK} cannot be removed`, { kind: "invalid" });
  const users = containersOn(net);
  if (users.length > 0) {
    if (!removeContainer) {
      throw new CtrError(`network "${net.name}" is in use by container${users.length > 1 ? "s" : ""} ${users.map((c) => c.name).join(", ")}: remove them first, or use -f`, { kind: "conflict" });
    }
    for (const c of users) await removeContainer(c);
  }
  await stopHolder(net);
  await networkStore().remove(net.name);
}

/** Removes every network no container uses; their names. */
export async function pruneNetworks(keep: (n: NetworkRecord) => boolean = () => true): Promise<string[]> {
  const records = allContainers();
  const out: string[] = [];
  for (const net of networkStore().list()) {
    if (net.name === DEFAULT_NETWORK || !keep(net) || containersOn(net, records).length > 0) continue;
    await removeNetwork(net);
    out.push(net.name);
  }
  return out;
}

/** podman's `network inspect` shape, with the running containers' interfaces. */
export function inspectNetwork(net: NetworkRecord): Record<string, unknown> {
  const containers: Record<string, unknown> = {};
  for (const c of containersOn(net)) {
    if (!isRunning(c.id)) continue;
    const ep = readEndpoints(containerStateDir(c.id))[net.name];
    if (!ep) continue;
    containers[c.id] = {
      name: c.name,
      interfaces: { [ep.interface]: { subnets: [{ ipnet: `${ep.ip}/${ep.prefixLen}`, gateway: ep.gateway }], mac_address: ep.mac ?? "" } },
    };
  }
  return {
    name: net.name,
    id: net.id,
    driver: net.driver,
    network_interface: "br0",
    created: net.created,
    subnets: net.subnets,
    ipv6_enabled: false,
    internal: net.internal,
    dns_enabled: false,
    labels: net.labels,
    options: net.options,
    ipam_options: { driver: "host-local" },
    containers,
  };
}

/** docker's `NetworkSettings.Networks` of a container on user-defined networks (addresses while it runs). */
export function containerNetworksForInspect(rec: ContainerRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const names = Object.keys(rec.network?.mode === "bridge" ? rec.network.networks ?? {} : {});
  if (names.length === 0) return out;
  const endpoints = isRunning(rec.id) ? readEndpoints(containerStateDir(rec.id)) : {};
  const store = networkStore();
  for (const name of names) {
    const ep = endpoints[name];
    out[name] = {
      EndpointID: "",
      Gateway: ep?.gateway ?? "",
      IPAddress: ep?.ip ?? "",
      IPPrefixLen: ep?.prefixLen ?? 0,
      IPv6Gateway: "",
      GlobalIPv6Address: "",
      GlobalIPv6PrefixLen: 0,
      MacAddress: ep?.mac ?? "",
      NetworkID: ep?.networkId ?? store.find(name)?.id ?? "",
      DriverOpts: null,
      IPAMConfig: null,
      Links: null,
      Aliases: [rec.id.slice(0, 12), ...(rec.network?.networks?.[name]?.aliases ?? [])],
    };
  }
  return out;
}

/**
 * `--network container:NAME`: the container joins another running
 * container's network namespace, and so shares its interfaces, ports,
 * `/etc/hosts`, `/etc/resolv.conf` and hostname, as in docker. A network
 * namespace can only be joined with CAP_SYS_ADMIN in the user namespace
 * that owns it, so the other container's user namespace is joined too
 * (every rootless container has the same id maps, so files keep their
 * owners).
 */
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { CtrError } from "../errors.ts";
import { readJson, writeJsonAtomic } from "../fs-util.ts";
import type { Spec } from "../oci/runtime.ts";
import { ctrPaths } from "../paths.ts";
import { ContainerStore, type ContainerRecord } from "../runtime/container-store.ts";
import type { EtcFiles } from "../runtime/etc-files.ts";
import { etcFilesIn } from "../runtime/etc-files.ts";
import { readLiveState } from "../runtime/state.ts";
import { containerStateDir } from "./endpoints.ts";
import type { StartedNetwork } from "./start.ts";

/**
 * The id of the container that `--network container:NAME` names, checked at
 * create: it exists, and the flags that need a network of one's own are absent.
 *
 * @throws CtrError (kind "not-found" or "invalid") naming the container or the flag
 */
export function networkContainerId(name: string, opts: { publish?: string[]; hostname?: string; userns?: string; addHosts?: string[]; dns?: string[] }, containers: ContainerStore): string {
  let other: ContainerRecord;
  try {
    other = containers.get(name);
  } catch {
    throw new CtrError(`invalid --network "container:${name}": no such container "${name}"`, { kind: "not-found", exitCode: 125 });
  }
  if (opts.publish?.length) throw new CtrError(`cannot publish ports with --network container:${name}: the container shares the network of ${other.name}, publish them there (${opts.publish.join(", ")})`, { kind: "invalid" });
  if (opts.hostname !== undefined) throw new CtrError(`conflicting options: --hostname and --network container:${name} (the hostname is ${other.name}'s)`, { kind: "invalid" });
  if (opts.addHosts?.length) throw new CtrError(`conflicting options: --add-host and --network container:${name} (/etc/hosts is ${other.name}'s)`, { kind: "invalid" });
  if (opts.dns?.length) throw new CtrError(`conflicting options: --dns and --network container:${name} (/etc/resolv.conf is ${other.name}'s)`, { kind: "invalid" });
  if (opts.userns === "keep-id") throw new CtrError(`--userns=keep-id with --network container:${name} is not supported: the container joins ${other.name}'s user namespace`, { kind: "invalid" });
  return other.id;
}

/**
 * At start: points the bundle's config.json at the other container's user
 * and network namespaces and hostname. Returns how to give this container
 * the other's `/etc` files (copies, made at each start).
 *
 * @throws CtrError when the other container is gone or not running
 */
export function joinContainerNetwork(bundle: string, otherId: string, containers: ContainerStore): { writeEtc: (files: EtcFiles) => void } {
  let other: ContainerRecord;
  try {
    other = containers.get(otherId);
  } catch {
    throw new CtrError(`cannot join the network of container ${otherId.slice(0, 12)}: it no longer exists`, { kind: "not-found", exitCode: 125 });
  }
  const state = readLiveState(containerStateDir(other.id));
  if (state.status !== "running" || !state.pid) throw new CtrError(`cannot join the network of container ${other.name}: it is not running`, { kind: "conflict" });
  const pid = state.pid;
  const path = join(bundle, "config.json");
  const spec = readJson<Spec>(path);
  if (!spec?.linux) throw new CtrError(`cannot read the container's config "${path}"`);
  // The other in host mode has the host's network namespace, which only the
  // host's user namespace may join: no network namespace at all does the same.
  spec.linux.namespaces =
    other.network?.mode === "host"
      ? spec.linux.namespaces.filter((ns) => ns.type !== "network").map((ns) => (ns.type === "user" ? { type: "user" } : ns))
      : spec.linux.namespaces.map((ns) => (ns.type === "user" || ns.type === "network" ? { type: ns.type, path: `/proc/${pid}/ns/${ns.type === "user" ? "user" : "net"}` } : ns));
  const hostname = other.config?.hostname || other.id.slice(0, 12);
  spec.hostname = hostname;
  if (spec.process?.env) spec.process.env = spec.process.env.map((e) => (e.startsWith("HOSTNAME=") ? `HOSTNAME=${hostname}` : e));
  writeJsonAtomic(path, spec);
  const from = etcFilesIn(containerStateDir(other.id));
  return {
    writeEtc: (files) => {
      for (const k of ["hosts", "hostname", "resolvConf"] as const) copyFileSync(from[k], files[k]);
    },
  };
}

/** What a container's start needs in network mode container (no helper, no ports: they are the other's). */
export async function startContainerModeNetwork(otherId: string, bundle: string): Promise<StartedNetwork> {
  const { writeEtc } = joinContainerNetwork(bundle, otherId, new ContainerStore(ctrPaths().data));
  return { writeEtc, publish: async () => {} };
}

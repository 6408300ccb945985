/**
 * User-defined network definitions: one `<name>.json` per network under
 * `$XDG_DATA_HOME/ctr/networks/`, written under the store's lock so that
 * two `network create` never take the same name or overlapping subnets.
 * A failed create writes nothing.
 */
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { CtrError } from "../errors.ts";
import { readJson, withLock, writeJsonAtomic } from "../fs-util.ts";
import { ctrPaths } from "../paths.ts";
import { defaultSubnet, formatSubnet, gatewayAddress, overlaps, parseSubnet, type Subnet } from "./subnet.ts";

export interface NetworkRecord {
  name: string;
  /** 64 hex digits. */
  id: string;
  driver: "bridge";
  /** One IPv4 subnet; gateway is its `.2` (slirp4netns's router). */
  subnets: { subnet: string; gateway: string }[];
  /** `--internal`: no slirp4netns, so no way out and no published ports. */
  internal: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  created: string;
}

export interface CreateNetworkOptions {
  subnet?: string;
  gateway?: string;
  internal?: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
  driver?: string;
}

/** What a network name may be, as podman allows. */
export const VALID_NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Names that mean a network mode, never a network of the user's. */
export const RESERVED_NETWORK_NAMES = new Set(["none", "host", "bridge", "private", "default", "slirp4netns", "pasta", "container", "ns"]);

/** The default network, as podman names it: every container's unless it asks for another mode. */
export const DEFAULT_NETWORK = "podman";

/** podman's id for it (the sha256 of its name): scripts comparing ids see the same one. */
const DEFAULT_NETWORK_ID = "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9";

/**
 * The default network's record, never stored: 10.88.0.0/24 as podman's,
 * unless a network created before it existed overlaps that (then the
 * first free 10.88.N.0/24). `create` refuses subnets overlapping it, so
 * it does not move once chosen.
 *
 * @param created when the store was made (podman's is when its default
 *   config was written); ISO 8601
 */
export function defaultNetworkRecord(stored: NetworkRecord[], created = new Date().toISOString()): NetworkRecord {
  const taken = stored.map(subnetOf);
  let subnet = parseSubnet("10.88.0.0/24");
  for (let n = 1; n < 256 && taken.some((t) => overlaps(t, subnet)); n++) subnet = parseSubnet(`10.88.${n}.0/24`);
  if (taken.some((t) => overlaps(t, subnet))) subnet = defaultSubnet(taken);
  return {
    name: DEFAULT_NETWORK,
    id: DEFAULT_NETWORK_ID,
    driver: "bridge",
    subnets: [{ subnet: formatSubnet(subnet), gateway: gatewayAddress(subnet) }],
    internal: false,
    labels: {},
    options: {},
    created,
  };
}

/** Checks a network name; returns it. */
export function checkNetworkName(name: string): string {
  if (!VALID_NETWORK_NAME.test(name)) throw new CtrError(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, { kind: "invalid" });
  if (name.length > 200) throw new CtrError(`invalid network name "${name.slice(0, 20)}…": longer than 200 characters`, { kind: "invalid" });
  if (RESERVED_NETWORK_NAMES.has(name)) throw new CtrError(`invalid network name "${name}": it is a network mode`, { kind: "invalid" });
  return name;
}

/** The subnet of a network record. */
export function subnetOf(net: NetworkRecord): Subnet {
  return parseSubnet(net.subnets[0]!.subnet);
}

/**
 * Plans a new network against the existing ones: the record `create`
 * would write. Pure, for tests.
 *
 * @throws CtrError (kind "conflict") for a taken name or an overlapping subnet, "invalid" for bad input
 */
export function planNetwork(name: string, opts: CreateNetworkOptions, existing: NetworkRecord[], now = new Date()): NetworkRecord {
  checkNetworkName(name);
  if (opts.driver !== undefined && opts.driver !== "bridge") throw new CtrError(`unsupported network driver "${opts.driver}": only bridge`, { kind: "invalid" });
  if (existing.some((n) => n.name === name)) throw new CtrError(`network name "${name}" already used: network already exists`, { kind: "conflict" });
  const taken = existing.map((n) => ({ name: n.name, subnet: subnetOf(n) }));
  let subnet: Subnet;
  if (opts.subnet !== undefined) {
    subnet = parseSubnet(opts.subnet);
    const clash = taken.find((t) => overlaps(t.subnet, subnet));
    if (clash) throw new CtrError(`subnet ${formatSubnet(subnet)} overlaps network "${clash.name}" (${formatSubnet(clash.subnet)})`, { kind: "conflict" });
  } else {
    if (opts.gateway !== undefined) throw new CtrError("--gateway needs --subnet", { kind: "invalid" });
    subnet = defaultSubnet(taken.map((t) => t.subnet));
  }
  const gateway = gatewayAddress(subnet);
  if (opts.gateway !== undefined && opts.gateway !== gateway) {
    throw new CtrError(`unsupported gateway "${opts.gateway}" for subnet ${formatSubnet(subnet)}: slirp4netns's router is always ${gateway}`, { kind: "invalid" });
  }
  return {
    name,
    id: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex"),
    driver: "bridge",
    subnets: [{ subnet: formatSubnet(subnet), gateway }],
    internal: opts.internal ?? false,
    labels: opts.labels ?? {},
    options: opts.options ?? {},
    created: now.toISOString(),
  };
}

export class NetworkStore {
  constructor(readonly dir: string) {}

  private get lockFile(): string {
    return join(this.dir, "..", "networks.lock");
  }

  private file(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  /** Every network, the default one included, by name. */
  list(): NetworkRecord[] {
    const stored = this.stored();
    return [...stored, defaultNetworkRecord(stored, this.defaultCreated())].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The default network is as old as the store: the birth time of its data
   * directory (not stored anywhere, so it stays put until `system reset`).
   */
  private defaultCreated(): string {
    try {
      const st = statSync(join(this.dir, ".."));
      return new Date(st.birthtimeMs > 0 ? st.birthtimeMs : st.mtimeMs).toISOString();
    } catch {
      return new Date().toISOString();
    }
  }

  /** The networks users created. */
  private stored(): NetworkRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: NetworkRecord[] = [];
    for (const f of names) {
      if (!f.endsWith(".json") || f === `${DEFAULT_NETWORK}.json`) continue;
      try {
        const rec = readJson<NetworkRecord>(join(this.dir, f));
        if (rec) out.push(rec);
      } catch {
        // half-written by a crash before rename cannot happen; unreadable: skip
      }
    }
    return out;
  }

  /** By name, full id or unique id prefix. */
  find(ref: string): NetworkRecord | undefined {
    if (ref === DEFAULT_NETWORK) return defaultNetworkRecord(this.stored(), this.defaultCreated());
    if (VALID_NETWORK_NAME.test(ref)) {
      const byName = readJson<NetworkRecord>(this.file(ref));
      if (byName) return byName;
    }
    if (!/^[0-9a-f]{3,64}$/.test(ref)) return undefined;
    const byId = this.list().filter((n) => n.id.startsWith(ref));
    if (byId.length > 1) throw new CtrError(`network ID "${ref}" is ambiguous: ${byId.map((n) => n.name).join(", ")}`, { kind: "invalid" });
    return byId[0];
  }

  /** @throws CtrError (kind "not-found") as podman words it */
  get(ref: string): NetworkRecord {
    const rec = this.find(ref);
    if (!rec) throw new CtrError(`unable to find network with name or ID ${ref}: network not found`, { kind: "not-found" });
    return rec;
  }

  async create(name: string, opts: CreateNetworkOptions): Promise<NetworkRecord> {
    return withLock(this.lockFile, () => {
      const rec = planNetwork(name, opts, this.list());
      writeJsonAtomic(this.file(name), rec);
      return rec;
    });
  }

  async remove(name: string): Promise<void> {
    await withLock(this.lockFile, () => rmSync(this.file(name), { force: true }));
  }
}

export function networkStore(): NetworkStore {
  return new NetworkStore(join(ctrPaths().data, "networks"));
}

/**
 * Live state of a network (holder, ipam): `$XDG_RUNTIME_DIR/ctr/networks/<short id>/`.
 * By id, not name: a network removed and created again starts afresh, and
 * the API socket's path stays short (sun_path is 108 bytes).
 */
export function networkRunDir(net: Pick<NetworkRecord, "id">): string {
  return join(ctrPaths().runtime, "networks", net.id.slice(0, 12));
}

/**
 * `--network` / `--net` modes: `bridge` (the default; also spelled
 * `private`, `default`, or by its name `podman`: the shared default
 * network), `slirp4netns` (a slirp4netns of the container's own), `none`
 * (a network namespace with only `lo`), `host` (no network namespace of its own), `container:NAME`
 * (another container's), `pasta[:OPTIONS]`, and any other name:
 * user-defined networks (mode `bridge`, as podman's inspect calls it),
 * several as `--network a,b` or repeated, each optionally
 * `NAME:ip=A.B.C.D,alias=X`.
 */
import { CtrError } from "../errors.ts";
import { DEFAULT_NETWORK } from "./store.ts";

export type NetworkMode = "slirp4netns" | "none" | "host" | "bridge" | "container" | "pasta";

/** One user-defined network a container joins, with what `NAME:opts` gave. */
export interface NetworkRequest {
  name: string;
  ip?: string;
  aliases?: string[];
}

export interface NetworkConfig {
  mode: NetworkMode;
  /** slirp4netns:allow_host_loopback=true: 10.0.2.2 reaches the host's 127.0.0.1. */
  allowHostLoopback?: boolean;
  /** Mode bridge: the user-defined networks, in order (the first gives the default route). */
  networks?: NetworkRequest[];
  /** `--network-alias`: on every user-defined network given. */
  aliases?: string[];
  /** `--ip`: with one user-defined network. */
  ip?: string;
  /** `--link NAME[:ALIAS]`. */
  links?: string[];
  /** `--dns`. */
  dns?: string[];
  /** Mode container: the container (name or id) whose network namespace is joined. */
  container?: string;
  /** Mode pasta: `pasta:OPTIONS`, passed to pasta as they are. */
  pastaOptions?: string[];
}

/** A user-defined network's name in `--network`, with podman's per-network options. */
function networkRequest(v: string, name: string, options: string[]): NetworkRequest {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) {
    throw new CtrError(`unsupported network mode "${v}": expected slirp4netns, private, none, host or the name of a network`, { kind: "invalid" });
  }
  const req: NetworkRequest = { name };
  for (const opt of options) {
    const eq = opt.indexOf("=");
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = opt.slice(eq + 1);
    if (key === "ip" && eq > 0) req.ip = value;
    else if (key === "alias" && eq > 0) (req.aliases ??= []).push(value);
    else throw new CtrError(`unsupported network option "${opt}" in "${v}": expected ip=ADDRESS or alias=NAME`, { kind: "invalid" });
  }
  return req;
}

/**
 * Parses every `--network` given (repeated, or `a,b`).
 *
 * @throws CtrError (kind "invalid") for a mode mixed with networks, or bad options
 */
export function parseNetworkModes(values: string[]): NetworkConfig {
  if (values.length <= 1 && (values[0] === undefined || values[0].includes(":") || !values[0].includes(","))) return parseNetworkMode(values[0]);
  const requests: NetworkRequest[] = [];
  for (const v of values) {
    const parts = v.includes(":") ? [v] : v.split(",");
    for (const p of parts) {
      const config = parseNetworkMode(p);
      if (config.mode !== "bridge") throw new CtrError(`network mode "${p}" cannot be combined with other networks: "${values.join(" ")}"`, { kind: "invalid" });
      for (const r of config.networks ?? []) {
        if (requests.some((x) => x.name === r.name)) throw new CtrError(`network "${r.name}" is given twice`, { kind: "invalid" });
        requests.push(r);
      }
    }
  }
  return { mode: "bridge", networks: requests };
}

/** Where slirp4netns puts the container and its gateway and DNS forwarder. */
export const SLIRP = { address: "10.0.2.100", prefix: 24, gateway: "10.0.2.2", dns: "10.0.2.3", mtu: 65520, device: "tap0" } as const;

/**
 * Parses `--network` as podman spells it.
 *
 * @throws CtrError (kind "invalid") for an unknown mode or option
 */
export function parseNetworkMode(value: string | undefined): NetworkConfig {
  const v = value ?? "";
  const colon = v.indexOf(":");
  const name = colon < 0 ? v : v.slice(0, colon);
  const options = colon < 0 ? [] : v.slice(colon + 1).split(",");
  switch (name) {
    case "":
    case "default":
    case "private":
    case "bridge":
      // The shared default network, as podman's `bridge` mode means its network "podman".
      return { mode: "bridge", networks: [networkRequest(v, DEFAULT_NETWORK, options)] };
    case "slirp4netns": {
      const config: NetworkConfig = { mode: "slirp4netns" };
      for (const opt of options) {
        const m = /^allow_host_loopback=(true|false)$/.exec(opt);
        if (!m) throw new CtrError(`unsupported network option "${opt}" in "${v}": only slirp4netns:allow_host_loopback=true|false is supported`, { kind: "invalid" });
        config.allowHostLoopback = m[1] === "true";
      }
      return config;
    }
    case "container":
    case "pasta":
      return parseSharedOrPasta(v, name, colon < 0 ? undefined : v.slice(colon + 1));
    case "none":
    case "host":
      if (options.length) throw new CtrError(`network mode "${name}" takes no options, got "${v}"`, { kind: "invalid" });
      return { mode: name };
    default:
      return { mode: "bridge", networks: [networkRequest(v, name, options)] };
  }
}

/** `container:NAME|ID` and `pasta[:OPTION,…]` (options comma-separated, as podman splits them). */
function parseSharedOrPasta(v: string, name: "container" | "pasta", rest: string | undefined): NetworkConfig {
  if (name === "pasta") return { mode: "pasta", ...(rest ? { pastaOptions: rest.split(",") } : {}) };
  if (!rest) throw new CtrError(`invalid network mode "${v}": expected container:NAME or container:ID`, { kind: "invalid" });
  return { mode: "container", container: rest };
}

/**
 * `--network` / `--net` modes: `slirp4netns` (the default; also spelled
 * `private`, `bridge`, `default`), `none` (a network namespace with only
 * `lo`) and `host` (no network namespace of its own).
 */
import { CtrError } from "../errors.ts";

export type NetworkMode = "slirp4netns" | "none" | "host";

export interface NetworkConfig {
  mode: NetworkMode;
  /** slirp4netns:allow_host_loopback=true: 10.0.2.2 reaches the host's 127.0.0.1. */
  allowHostLoopback?: boolean;
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
    case "slirp4netns": {
      const config: NetworkConfig = { mode: "slirp4netns" };
      for (const opt of options) {
        const m = /^allow_host_loopback=(true|false)$/.exec(opt);
        if (!m || name !== "slirp4netns") throw new CtrError(`unsupported network option "${opt}" in "${v}": only slirp4netns:allow_host_loopback=true|false is supported`, { kind: "invalid" });
        config.allowHostLoopback = m[1] === "true";
      }
      return config;
    }
    case "none":
    case "host":
      if (options.length) throw new CtrError(`network mode "${name}" takes no options, got "${v}"`, { kind: "invalid" });
      return { mode: name };
    default:
      throw new CtrError(`unsupported network mode "${v}": expected slirp4netns, private, none or host (user-defined networks are not supported yet)`, { kind: "invalid" });
  }
}

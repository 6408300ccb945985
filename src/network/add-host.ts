/**
 * `--add-host NAME:IP` (docker also spells it `NAME=IP`): extra lines for
 * the container's /etc/hosts. `host-gateway` stands for the address at
 * which the container reaches the host: slirp4netns's gateway, which also
 * opens the host's loopback to the container, as podman's
 * `host.containers.internal` does.
 */
import { CtrError } from "../errors.ts";
import { SLIRP, type NetworkMode } from "./mode.ts";
import { isIP } from "./ip-address.ts";

export const HOST_GATEWAY = "host-gateway";

/**
 * Checks one `--add-host` value; returns it as `NAME:IP`.
 *
 * @example
 * parseAddHost("db=10.0.0.5"); // "db:10.0.0.5"
 * @throws CtrError (kind "invalid") naming the value
 */
export function parseAddHost(value: string): string {
  const m = /^([^:=\s]+)[:=](.+)$/.exec(value);
  const ip = m?.[2]?.replace(/^\[(.*)\]$/, "$1");
  if (!m || !ip || (ip !== HOST_GATEWAY && isIP(ip) === 0)) {
    throw new CtrError(`invalid --add-host "${value}": expected NAME:IP or NAME:host-gateway`, { kind: "invalid" });
  }
  return `${m[1]}:${ip}`;
}

/** Whether any entry asks for the host. */
export function wantsHostGateway(entries: string[]): boolean {
  return entries.some((e) => e.endsWith(`:${HOST_GATEWAY}`));
}

/**
 * `/etc/hosts` lines (`IP\tNAME`) for the entries, `host-gateway` resolved
 * for the mode (`gateway`: the router of a user-defined network).
 */
export function addHostLines(entries: string[], mode: NetworkMode, gateway: string = SLIRP.gateway): string[] {
  return entries.map((e) => {
    const colon = e.indexOf(":");
    let ip = e.slice(colon + 1);
    if (ip === HOST_GATEWAY) {
      if (mode === "none") throw new CtrError(`cannot resolve --add-host "${e}" with --network none: the container has no way to the host`, { kind: "invalid" });
      ip = mode === "host" ? "127.0.0.1" : gateway;
    }
    return `${ip}\t${e.slice(0, colon)}`;
  });
}

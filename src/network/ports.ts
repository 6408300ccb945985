/**
 * `-p` / `--publish` specs as docker and podman spell them:
 * `[ip:][hostPort:]containerPort[/tcp|udp]`, either port a range
 * (`4000-4010:80-90`), the host port empty or absent for a random one.
 * Pure parsing: choosing free ports and binding them is `publish.ts`'s job.
 */
import { CtrError } from "../errors.ts";

export type PortProtocol = "tcp" | "udp";

/** One published port, as podman records it (`hostPort` 0: not chosen yet). */
export interface PortMapping {
  hostIP: string;
  hostPort: number;
  containerPort: number;
  protocol: PortProtocol;
}

/** A parsed spec: the container ports it publishes and the host ports it may use. */
export interface PortSpec {
  hostIP: string;
  /** Empty: any free port. One port per container port, or a range to pick from. */
  hostPorts: number[];
  containerPorts: number[];
  protocol: PortProtocol;
}

function invalid(spec: string, why: string): CtrError {
  return new CtrError(`invalid port spec "${spec}": ${why}`, { kind: "invalid" });
}

function portRange(spec: string, text: string, what: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw invalid(spec, `${what} "${text}" is not a port or a range of ports`);
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  for (const p of [first, last]) if (p < 1 || p > 65535) throw invalid(spec, `${what} ${p} is outside 1-65535`);
  if (last < first) throw invalid(spec, `${what} range "${text}" ends before it starts`);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/**
 * Parses one `-p` value.
 *
 * @example
 * parsePortSpec("127.0.0.1:8080:80/udp");
 * // { hostIP: "127.0.0.1", hostPorts: [8080], containerPorts: [80], protocol: "udp" }
 * @throws CtrError (kind "invalid") naming the spec and what is wrong
 */
export function parsePortSpec(spec: string): PortSpec {
  let rest = spec;
  let protocol: PortProtocol = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    const proto = rest.slice(slash + 1).toLowerCase();
    if (proto !== "tcp" && proto !== "udp") throw invalid(spec, `protocol "${proto}" is not tcp or udp`);
    protocol = proto;
    rest = rest.slice(0, slash);
  }
  let hostIP = "";
  // An IPv6 address is bracketed: [::1]:8080:80.
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(rest);
  if (v6) {
    hostIP = v6[1]!;
    rest = v6[2]!;
    if (!rest.includes(":")) rest = `:${rest}`;
  }
  const parts = rest.split(":");
  if (parts.length > 3) throw invalid(spec, "expected [ip:][hostPort:]containerPort[/protocol]");
  const containerText = parts.pop()!;
  const hostText = parts.pop() ?? "";
  if (parts.length === 1) hostIP = parts[0]!;
  if (hostIP !== "" && !v6 && !/^\d{1,3}(\.\d{1,3}){3}$/.test(hostIP)) throw invalid(spec, `"${hostIP}" is not an IP address`);
  if (!v6 && hostIP.split(".").some((o) => Number(o) > 255)) throw invalid(spec, `"${hostIP}" is not an IP address`);
  if (containerText === "") throw invalid(spec, "no container port");
  const containerPorts = portRange(spec, containerText, "container port");
  const hostPorts = hostText === "" ? [] : portRange(spec, hostText, "host port");
  if (hostPorts.length > 1 && containerPorts.length > 1 && hostPorts.length !== containerPorts.length) {
    throw invalid(spec, `host range has ${hostPorts.length} ports, container range ${containerPorts.length}`);
  }
  if (hostPorts.length > 1 && containerPorts.length === 1) {
    // docker: one container port, any free host port of the range
  } else if (hostPorts.length === 1 && containerPorts.length > 1) {
    throw invalid(spec, "a range of container ports needs a range of host ports of the same length");
  }
  return { hostIP: hostIP === "0.0.0.0" ? "" : hostIP, hostPorts, containerPorts, protocol };
}

/** Each container port with the host port it asks for (0: any free port, or one of `choices`). */
export function expandPortSpec(spec: PortSpec): { mapping: PortMapping; choices: number[] }[] {
  return spec.containerPorts.map((containerPort, i) => {
    const pinned = spec.hostPorts.length === spec.containerPorts.length;
    return {
      mapping: { hostIP: spec.hostIP, hostPort: pinned ? spec.hostPorts[i]! : 0, containerPort, protocol: spec.protocol },
      choices: pinned ? [] : spec.hostPorts,
    };
  });
}

/** `0.0.0.0:8080->80/tcp`, as `ps` and `port` show a mapping. */
export function formatPortMapping(m: PortMapping): string {
  const ip = m.hostIP === "" ? "0.0.0.0" : m.hostIP.includes(":") ? `[${m.hostIP}]` : m.hostIP;
  return `${ip}:${m.hostPort}->${m.containerPort}/${m.protocol}`;
}

/** docker's NetworkSettings.Ports: `{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}`. */
export function portsForInspect(mappings: PortMapping[]): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const m of mappings) {
    (out[`${m.containerPort}/${m.protocol}`] ??= []).push({ HostIp: m.hostIP || "0.0.0.0", HostPort: String(m.hostPort) });
  }
  return out;
}

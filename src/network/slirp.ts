/**
 * The slirp4netns driver: the helper's command line (the shim starts it
 * once the container's network namespace exists, see shim/PROTOCOL.md
 * `--net-helper`), host ports checked and chosen before the container
 * starts, and the `add_hostfwd` requests the shim sends to slirp4netns's
 * API socket before the container's process runs (again at each restart).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CtrError } from "../errors.ts";
import { which } from "../host/which.ts";
import { SLIRP, type NetworkConfig } from "./mode.ts";
import { expandPortSpec, type PortMapping, type PortSpec } from "./ports.ts";

/** The API socket, relative to the container's state dir (the helper's cwd there keeps sun_path short). */
export const API_SOCKET = "slirp.sock";

/** slirp4netns and its arguments, without the fds, pid and device the shim adds. */
export function slirpHelperArgv(config: NetworkConfig): string[] {
  const path = which("slirp4netns");
  if (!path) throw new CtrError("slirp4netns not found in PATH: install it, or run with --network none or --network host", { kind: "not-found", exitCode: 125 });
  const args = [path, "--configure", `--mtu=${SLIRP.mtu}`, `--api-socket=${API_SOCKET}`];
  if (!config.allowHostLoopback) args.push("--disable-host-loopback");
  return args;
}

/**
 * Binds `port` (0: any) for a moment; the port it got, or why not. node:net
 * and node:dgram are loaded here, not at the top: only a run that publishes
 * ports should pay for loading them.
 */
async function probe(m: PortMapping, port: number): Promise<number | Error> {
  const host = m.hostIP || "0.0.0.0";
  const { createSocket } = await import("node:dgram");
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    if (m.protocol === "udp") {
      const sock = createSocket(host.includes(":") ? "udp6" : "udp4");
      sock.once("error", (err) => resolve(err));
      sock.bind({ address: host, port, exclusive: true }, () => {
        const got = sock.address().port;
        sock.close(() => resolve(got));
      });
      return;
    }
    const server = createServer();
    server.once("error", (err) => resolve(err));
    server.listen({ host, port, exclusive: true }, () => {
      const addr = server.address();
      const got = typeof addr === "object" && addr ? addr.port : port;
      server.close(() => resolve(got));
    });
  });
}

function bindError(m: PortMapping, err: Error): CtrError {
  const code = (err as NodeJS.ErrnoException).code;
  const what = `${m.hostIP || "0.0.0.0"}:${m.hostPort}/${m.protocol}`;
  if (code === "EADDRINUSE") return new CtrError(`cannot publish port ${m.containerPort}: host port ${what} is already in use`, { kind: "conflict" });
  if (code === "EACCES") return new CtrError(`cannot publish port ${m.containerPort}: host port ${what} is privileged (see /proc/sys/net/ipv4/ip_unprivileged_port_start)`, { kind: "invalid" });
  if (code === "EADDRNOTAVAIL") return new CtrError(`cannot publish port ${m.containerPort}: ${m.hostIP} is not an address of this host`, { kind: "invalid" });
  return new CtrError(`cannot publish port ${m.containerPort} on host port ${what}`, { cause: err });
}

/**
 * Picks the host port of each mapping and checks it is free now, so that
 * a port in use fails the run before anything starts.
 */
export async function reserveHostPorts(specs: PortSpec[]): Promise<PortMapping[]> {
  const out: PortMapping[] = [];
  const taken = new Set<string>();
  for (const spec of specs) {
    for (const { mapping, choices } of expandPortSpec(spec)) {
      const key = (p: number) => `${mapping.hostIP}:${p}/${mapping.protocol}`;
      if (mapping.hostPort !== 0) {
        if (taken.has(key(mapping.hostPort))) throw new CtrError(`host port ${mapping.hostPort}/${mapping.protocol} is published twice`, { kind: "invalid" });
        const got = await probe(mapping, mapping.hostPort);
        if (got instanceof Error) throw bindError(mapping, got);
      } else {
        let chosen: number | undefined;
        let last: Error | undefined;
        for (const p of choices.length ? choices : [0]) {
          if (taken.has(key(p))) continue;
          const got = await probe(mapping, p);
          if (got instanceof Error) last = got;
          else if (!taken.has(key(got))) {
            chosen = got;
            break;
          }
        }
        if (chosen === undefined) throw bindError({ ...mapping, hostPort: choices[0] ?? 0 }, last ?? new Error("no free port"));
        mapping.hostPort = chosen;
      }
      taken.add(key(mapping.hostPort));
      out.push(mapping);
    }
  }
  return out;
}

/**
 * slirp4netns's `add_hostfwd` request for one mapping (sent by the shim, see
 * shim/PROTOCOL.md `--net-helper-request`); `guestAddr` is the container's
 * address on a user-defined network, whose one slirp4netns serves them all.
 */
export function hostForwardRequest(m: PortMapping, guestAddr: string = SLIRP.address): string {
  return JSON.stringify({
    execute: "add_hostfwd",
    arguments: { proto: m.protocol, host_addr: m.hostIP || "0.0.0.0", host_port: m.hostPort, guest_addr: guestAddr, guest_port: m.containerPort },
  });
}

const PORTS_FILE = "ports.json";

/** Records the published ports of the current run in its state dir (read by ps, port, inspect). */
export function writePorts(stateDir: string, mappings: PortMapping[]): void {
  writeFileSync(join(stateDir, PORTS_FILE), JSON.stringify(mappings));
}

/** The ports the container's current run published; none when it has not run. */
export function readPorts(stateDir: string): PortMapping[] {
  try {
    return JSON.parse(readFileSync(join(stateDir, PORTS_FILE), "utf8")) as PortMapping[];
  } catch {
    return [];
  }
}

/**
 * What a container's start needs from networking, by mode: the helper for
 * the shim to run, the resolver for resolv.conf, and the ports to publish
 * once the helper runs. The one entry point `container.ts` calls.
 */
import { CtrError } from "../errors.ts";
import { addHostLines, wantsHostGateway } from "./add-host.ts";
import { SLIRP, type NetworkMode } from "./mode.ts";
import { parsePortSpec } from "./ports.ts";
import { hostForwardRequest, reserveHostPorts, slirpHelperArgv, writePorts } from "./slirp.ts";

export interface ContainerNetwork {
  mode: NetworkMode;
  allowHostLoopback?: boolean;
  publish: string[];
  addHosts?: string[];
}

export interface StartedNetwork {
  /** For the shim's `--net-helper`; absent: no helper. */
  helper?: string[];
  /** For the shim's `--net-helper-request`: the port forwards, set up before the container runs (and at each restart). */
  requests?: string[];
  /** For resolv.conf. */
  dns?: { nameservers?: string[]; keepLoopback?: boolean; hosts?: string[] };
  /** Records the published ports for ps, port and inspect (call after `ready`). */
  publish(): Promise<void>;
}

const nothing = async () => {};

/**
 * Prepares the network of a container about to start. A record without
 * `network` predates networking and keeps its private namespace with `lo` only.
 *
 * @throws CtrError when a host port is taken or slirp4netns is missing
 */
export async function startNetwork(net: ContainerNetwork | undefined, stateDir: string, log: (line: string) => void): Promise<StartedNetwork> {
  const publish = net?.publish ?? [];
  const mode = net?.mode ?? "none";
  const addHosts = net?.addHosts ?? [];
  const hosts = addHostLines(addHosts, mode);
  switch (mode) {
    case "none":
      if (publish.length) throw new CtrError(`cannot publish ports with --network none: ${publish.join(", ")}`, { kind: "invalid" });
      return { dns: { hosts }, publish: nothing };
    case "host":
      if (publish.length) log("WARN: published ports are discarded when using host network mode");
      return { dns: { keepLoopback: true, hosts }, publish: nothing };
    default: {
      // Asking for the host by name opens its loopback, unless the user said otherwise.
      const allowHostLoopback = net?.allowHostLoopback ?? wantsHostGateway(addHosts);
      const helper = slirpHelperArgv({ mode: "slirp4netns", allowHostLoopback });
      const ports = await reserveHostPorts(publish.map(parsePortSpec));
      return {
        helper,
        requests: ports.map(hostForwardRequest),
        dns: { nameservers: [SLIRP.dns], hosts },
        publish: async () => {
          if (ports.length) writePorts(stateDir, ports);
        },
      };
    }
  }
}

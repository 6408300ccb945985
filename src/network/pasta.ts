/**
 * `--network pasta[:OPTIONS]`: a pasta (Debian package passt) per
 * container instead of slirp4netns. The container's addresses and routes
 * are copies of the host's, and a published port keeps the client's
 * source address (a client on the host's loopback shows as 127.0.0.1,
 * not slirp4netns's 10.0.2.2).
 *
 * The shim starts it as it starts slirp4netns (`--net-helper`, see
 * shim/PROTOCOL.md), once the container's namespaces exist, appending
 * `--ready-fd=R --exit-fd=E PID DEVICE`. pasta takes none of those and
 * daemonizes once it has configured the namespace and bound the published
 * ports (it has no API socket: ports are given at start), so a few lines
 * of bash stand between (about 3 MB of RSS beside pasta's 30 MB): they run pasta on the container's namespaces, say
 * ready once pasta has returned, and end it when the monitor closes E
 * (pasta would otherwise hold its ports after the container ended: it
 * keeps the namespace alive through its tap device).
 */
import { CtrError } from "../errors.ts";
import { which } from "../host/which.ts";
import { addHostLines, wantsHostGateway } from "./add-host.ts";
import { parsePortSpec, type PortMapping } from "./ports.ts";
import { reserveHostPorts, writePorts } from "./slirp.ts";
import type { ContainerNetwork, StartedNetwork } from "./start.ts";

/**
 * Arguments `$@` are pasta and its options, then the shim's four. The
 * fds R and E are closed for pasta (it would hold R open in the
 * background). Of its stderr only the first line that is not a
 * complaint about a missing syslog is kept on failure: the error comes
 * first, before any usage text (the shim quotes the last line); `grep -m 1`,
 * not `| head`: with SIGPIPE ignored, grep would add its own "write error"
 * line after head exits, and the shim would quote that instead. SIGPIPE is
 * reset to its default: the monitor ignores it, and pasta (2023-03) takes
 * an inherited SIG_IGN for a failure to install its handlers. pasta's pid
 * is read at once: `rm -f` may delete the state directory before E closes.
 */
const WRAPPER = `n=$#; i=0
for a in "$@"; do
  i=$((i+1))
  [ "$i" = 1 ] && set --
  if [ "$i" = $((n-3)) ]; then r=\${a#--ready-fd=}
  elif [ "$i" = $((n-2)) ]; then e=\${a#--exit-fd=}
  elif [ "$i" = $((n-1)) ]; then p=$a
  elif [ "$i" -lt $((n-3)) ]; then set -- "$@" "$a"; fi
done
rm -f pasta.pid pasta.err
eval 'env --default-signal=PIPE "$@" --netns /proc/$p/ns/net --userns /proc/$p/ns/user --pid pasta.pid 2>pasta.err '"$r>&- $e<&-"
s=$?
[ "$s" = 0 ] || { grep -m 1 -v '^Failed to send' pasta.err >&2; exit "$s"; }
pp=$(cat pasta.pid)
printf x >&"$r"
eval "exec $r>&-"
read -r x <&"$e"
kill "$pp"
`;

/** pasta's `-t`/`-u` value for a mapping: `[ADDR/]HOSTPORT:CONTAINERPORT`. */
export function pastaPortSpec(m: PortMapping): string {
  return `${m.hostIP ? `${m.hostIP}/` : ""}${m.hostPort}:${m.containerPort}`;
}

/**
 * The shim's `--net-helper` command line for pasta: the published ports,
 * the host's loopback closed unless asked for (`--no-map-gw`, as podman
 * does), then the user's `pasta:OPTIONS` as they are.
 *
 * @throws CtrError naming the package when pasta is not installed
 */
export function pastaHelperArgv(ports: PortMapping[], options: string[] = [], allowHostLoopback = false): string[] {
  const pasta = which("pasta");
  if (!pasta) throw new CtrError('pasta not found in PATH: install the "passt" package, or run with the default network (slirp4netns)', { kind: "not-found", exitCode: 125 });
  const given = (short: string, long: string) => options.some((o) => o === short || o === long || o.startsWith(`${long}=`));
  const args = [pasta, "--config-net", "--quiet"];
  for (const [proto, short, long] of [["tcp", "-t", "--tcp-ports"], ["udp", "-u", "--udp-ports"]] as const) {
    const mine = ports.filter((m) => m.protocol === proto);
    for (const m of mine) args.push(short, pastaPortSpec(m));
    // pasta's default is "auto" (whatever binds in the container, a port on the host): not what -p means.
    if (!mine.length && !given(short, long)) args.push(short, "none");
  }
  // Nor should the host's ports show up inside the container by themselves.
  if (!given("-T", "--tcp-ns")) args.push("-T", "none");
  if (!given("-U", "--udp-ns")) args.push("-U", "none");
  if (!allowHostLoopback && !options.includes("--no-map-gw")) args.push("--no-map-gw");
  // bash, not sh: dash cannot name the shim's fds (10 and up) in a redirection.
  return [which("bash") ?? "/bin/bash", "-c", WRAPPER, "ctr-pasta", ...args, ...options];
}

/** The host's default IPv4 gateway (what `host-gateway` means with pasta: pasta maps it to the host), from /proc/net/route. */
export async function hostDefaultGateway(): Promise<string | undefined> {
  let text = "";
  try {
    text = await Bun.file("/proc/net/route").text();
  } catch {
    return undefined;
  }
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] !== "00000000" || !f[2] || f[2] === "00000000") continue;
    const n = parseInt(f[2], 16);
    // Little-endian hex, as the kernel prints it.
    return [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255].join(".");
  }
  return undefined;
}

/**
 * What a container's start needs for `--network pasta`: host ports checked
 * and chosen now (a port in use fails the run before anything starts),
 * then given to pasta at its start.
 */
export async function startPastaNetwork(net: ContainerNetwork, stateDir: string): Promise<StartedNetwork> {
  const addHosts = net.addHosts ?? [];
  // Asking for the host by name opens its loopback (the gateway's address, mapped by pasta), as with slirp4netns.
  const allowHostLoopback = net.allowHostLoopback ?? wantsHostGateway(addHosts);
  // Checked before any port is probed: a missing pasta is the clearer error.
  pastaHelperArgv([], net.pastaOptions);
  const ports = await reserveHostPorts((net.publish ?? []).map(parsePortSpec));
  const gateway = wantsHostGateway(addHosts) ? await hostDefaultGateway() : undefined;
  if (wantsHostGateway(addHosts) && !gateway) throw new CtrError("cannot resolve --add-host host-gateway with --network pasta: the host has no default IPv4 route", { kind: "invalid" });
  return {
    helper: pastaHelperArgv(ports, net.pastaOptions, allowHostLoopback),
    // The container's resolver is the host's (pasta routes to it); loopback ones are dropped.
    dns: { nameservers: net.dns?.length ? net.dns : undefined, hosts: addHostLines(addHosts, "pasta", gateway) },
    publish: async () => {
      if (ports.length) writePorts(stateDir, ports);
    },
  };
}

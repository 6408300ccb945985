/**
 * The holder of a user-defined network: a small process (`ctr-shim
 * net-holder`) that keeps the network's namespace alive, with the bridge
 * `br0` (the subnet's .1) and, unless the network is internal, one
 * slirp4netns for every container on it. Started on demand by the first
 * container that needs it; stopped when the network is removed.
 *
 * Every holder and every container on a user-defined network share ONE
 * user namespace: moving a veth between the holder's network namespace
 * and a container's needs CAP_NET_ADMIN over both. The first holder
 * creates it with the user's subordinate id maps; later ones join it.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CtrError } from "../errors.ts";
import { withLock, writeJsonAtomic } from "../fs-util.ts";
import { which } from "../host/which.ts";
import { ctrPaths } from "../paths.ts";
import { processAlive } from "../process-alive.ts";
import { HOLDER_FILES, netHolderArgv, parseHolderReady, shimErrorText, shimPath, type NetHolderConfig } from "../runtime/shim.ts";
import { userIdMaps } from "../runtime/subid.ts";
import { SLIRP } from "./mode.ts";
import { networkRunDir, subnetOf, type NetworkRecord } from "./store.ts";
import { bridgeAddress, formatSubnet } from "./subnet.ts";

export const BRIDGE = "br0";

export interface Holder {
  pid: number;
  /** `/proc/PID/ns/net`: where the containers' veth host ends go. */
  netns: string;
  /** `/proc/PID/ns/user`: the network user namespace, joined by containers. */
  userns: string;
  /** slirp4netns's API socket (absent for an internal network). */
  apiSocket?: string;
}

function readPid(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function holderOf(net: NetworkRecord, pid: number): Holder {
  return { pid, netns: `/proc/${pid}/ns/net`, userns: `/proc/${pid}/ns/user`, apiSocket: net.internal ? undefined : join(networkRunDir(net), HOLDER_FILES.apiSocket) };
}

/**
 * Alive and not a zombie: a killed holder may wait a while for pid 1 to
 * reap it, and kill(2) succeeds on a zombie.
 */
function holderAlive(pid: number | undefined): pid is number {
  if (!processAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

/** The network's holder if it runs. */
export function liveHolder(net: NetworkRecord): Holder | undefined {
  const pid = readPid(join(networkRunDir(net), HOLDER_FILES.pid));
  return holderAlive(pid) ? holderOf(net, pid) : undefined;
}

/** Any running holder's pid: its user namespace is the network user namespace. */
function anyLiveHolderPid(): number | undefined {
  const root = join(ctrPaths().runtime, "networks");
  let dirs: string[];
  try {
    dirs = readdirSync(root);
  } catch {
    return undefined;
  }
  for (const d of dirs) {
    const pid = readPid(join(root, d, HOLDER_FILES.pid));
    if (holderAlive(pid)) return pid;
  }
  return undefined;
}

function holdersLock(): string {
  return join(ctrPaths().runtime, "networks", "holders.lock");
}

/** What `ctr-shim net-holder` reads from `DIR/holder.json` (see shim/PROTOCOL.md). */
export function holderConfig(net: NetworkRecord, userns: NetHolderConfig["userns"], slirpPath: string | undefined): NetHolderConfig {
  const subnet = subnetOf(net);
  return {
    userns,
    bridge: BRIDGE,
    address: `${bridgeAddress(subnet)}/${subnet.prefix}`,
    mtu: SLIRP.mtu,
    ...(net.internal || !slirpPath ? {} : { slirp: { path: slirpPath, args: ["--cidr", formatSubnet(subnet), "--mtu", String(SLIRP.mtu), "--disable-host-loopback"], device: SLIRP.device } }),
  };
}

/**
 * Returns the network's running holder, starting it if needed.
 *
 * @throws CtrError when slirp4netns is missing or the holder cannot start
 */
export async function ensureHolder(net: NetworkRecord): Promise<Holder> {
  const running = liveHolder(net);
  if (running) return running;
  return withLock(holdersLock(), async () => {
    const again = liveHolder(net);
    if (again) return again;
    const dir = networkRunDir(net);
    const slirp = net.internal ? undefined : which("slirp4netns");
    if (!net.internal && !slirp) throw new CtrError(`cannot start network "${net.name}": slirp4netns not found in PATH`, { kind: "not-found", exitCode: 125 });
    const other = anyLiveHolderPid();
    let userns: NetHolderConfig["userns"];
    if (other !== undefined) userns = { path: `/proc/${other}/ns/user` };
    else {
      const maps = userIdMaps();
      userns = { uidMappings: maps.uidMappings, gidMappings: maps.gidMappings };
    }
    rmSync(join(dir, HOLDER_FILES.apiSocket), { force: true });
    writeJsonAtomic(join(dir, HOLDER_FILES.config), holderConfig(net, userns, slirp));
    const proc = Bun.spawn(netHolderArgv(await shimPath(ctrPaths().data), dir), { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    const pid = parseHolderReady(out);
    if (code !== 0 || pid === undefined) throw new CtrError(`cannot start network "${net.name}": ${shimErrorText(err)}`);
    return holderOf(net, pid);
  });
}

/** Ends the network's holder (and with it slirp4netns) and forgets its live state. */
export async function stopHolder(net: NetworkRecord): Promise<void> {
  const h = liveHolder(net);
  if (h) {
    try {
      process.kill(h.pid, "SIGTERM");
    } catch {
      // gone already
    }
    for (let i = 0; i < 100 && holderAlive(h.pid); i++) await Bun.sleep(20);
  }
  rmSync(networkRunDir(net), { recursive: true, force: true });
}

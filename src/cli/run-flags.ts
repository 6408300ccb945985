/** The flags `run` and `create` share, and their translation into {@link CreateOptions}. */
import type { Command } from "cac";
import { CtrError } from "../errors.ts";
import { terminalProgress, type ProgressReporter } from "../image/progress.ts";
import { parseRestartPolicy, type CreateOptions, type PullPolicy } from "../runtime/container.ts";
import { parseUlimit } from "../runtime/spec.ts";
import { parseNetworkModes } from "../network/mode.ts";
import { parsePortSpec } from "../network/ports.ts";
import { parseAddHost } from "../network/add-host.ts";
import { parseMountFlags } from "../volume/mount-spec.ts";
import type { CommandContext } from "./command.ts";
import { expandEnv, readEnvFiles } from "./env-file.ts";
import { bool, keyValues, list, oneOf, str } from "./options.ts";

const PULL_POLICIES: readonly PullPolicy[] = ["always", "missing", "never", "newer"];

export function containerFlags(cmd: Command): Command {
  return cmd
    .option("-i, --interactive", "Keep STDIN open")
    .option("-t, --tty", "Allocate a pseudo-TTY")
    .option("--rm", "Remove the container when it exits")
    .option("--name <name>", "Assign a name to the container")
    .option("-e, --env <env>", "Set environment variables (KEY=VALUE, or KEY to copy from the host)")
    .option("--env-file <file>", "Read environment variables from a file")
    .option("-w, --workdir <dir>", "Working directory inside the container")
    .option("-u, --user <user>", "Username or UID[:GID]")
    .option("--hostname <name>", "Container hostname (-h)")
    .option("--entrypoint <cmd>", "Overwrite the image's ENTRYPOINT")
    .option("--pull <policy>", "Pull image policy: always, missing, never, newer", { default: "missing" })
    .option("--platform <os/arch>", "Platform to pull if the image is not local")
    .option("--read-only", "Mount the container's root filesystem read-only")
    .option("-l, --label <label>", "Set metadata on the container (KEY=VALUE)")
    .option("--restart <policy>", "Restart policy: no, always, unless-stopped, on-failure[:N]")
    .option("--stop-signal <signal>", "Signal to stop the container (default SIGTERM)")
    .option("--stop-timeout <seconds>", "Seconds to wait before killing the container on stop (default 10)")
    .option("--cap-add <capability>", "Add a Linux capability")
    .option("--cap-drop <capability>", "Drop a Linux capability")
    .option("--privileged", "Give the container every capability and no masked paths")
    .option("--security-opt <option>", "Security options: no-new-privileges[:true|false]")
    .option("--ulimit <limit>", "Resource limit, NAME=SOFT[:HARD]")
    .option("--init", "Run an init inside the container that forwards signals and reaps processes")
    .option("--detach-keys <keys>", "Key sequence for detaching (default ctrl-p,ctrl-q)")
    .option("--sig-proxy", "Proxy received signals to the container (default true; --sig-proxy=false turns it off)")
    .option("--network <mode>", "Network mode: bridge (default: the shared network podman; also private), slirp4netns[:allow_host_loopback=true], pasta[:OPTIONS], none, host, container:NAME, or networks by name (NAME[,NAME…])")
    .option("--net <mode>", "Same as --network")
    .option("-p, --publish <spec>", "Publish a container's port: [ip:][hostPort:]containerPort[/tcp|udp]")
    .option("-P, --publish-all", "Publish every port the image EXPOSEs on a random host port")
    .option("--network-alias <alias>", "Add a network-scoped alias for the container (user-defined networks)")
    .option("--ip <address>", "IPv4 address on the user-defined network")
    .option("--link <container>", "Add a link to another container on a shared network: NAME[:ALIAS]")
    .option("--dns <server>", "Set a custom DNS server")
    .option("--add-host <host>", "Add a line to /etc/hosts: NAME:IP, or NAME:host-gateway for the host (opens its loopback)")
    .option("-v, --volume <volume>", "Bind mount a volume: NAME:PATH, HOST-DIR:PATH[:ro], or PATH for an anonymous volume")
    .option("--mount <mount>", "Attach a mount: type=bind|volume|tmpfs,source=…,target=…[,readonly]")
    .option("--tmpfs <path>", "Mount a tmpfs: PATH[:size=…,mode=…]")
    .option("--volumes-from <container>", "Mount the volumes of another container: CONTAINER[:ro|rw]")
    .option("--userns <mode>", "User namespace: keep-id maps your own uid/gid into the container and runs as them")
    .option("-m, --memory <bytes>", "Memory limit (ignored: needs a cgroup the user owns)")
    .option("--memory-swap <bytes>", "Memory plus swap limit, -1 for unlimited (ignored)")
    .option("--memory-reservation <bytes>", "Memory soft limit (ignored)")
    .option("--memory-swappiness <n>", "Swappiness 0-100 (ignored)")
    .option("--kernel-memory <bytes>", "No longer supported: a no-op, as in podman")
    .option("--cpus <n>", "Number of CPUs (ignored)")
    .option("-c, --cpu-shares <n>", "CPU shares, relative weight (ignored)")
    .option("--cpu-period <us>", "CPU CFS period (ignored)")
    .option("--cpu-quota <us>", "CPU CFS quota (ignored)")
    .option("--cpuset-cpus <list>", "CPUs in which to allow execution, e.g. 0-3,5 (ignored)")
    .option("--cpuset-mems <list>", "Memory nodes in which to allow execution (ignored)")
    .option("--pids-limit <n>", "Process limit, -1 for unlimited (ignored)")
    .option("--blkio-weight <n>", "Block IO weight 10-1000 (ignored)")
    .option("--oom-kill-disable", "Disable the OOM killer (ignored)")
    .option("--oom-score-adj <n>", "Tune the container's OOM preference, -1000 to 1000 (rootless: only raised)");
}

/** `-m 10m`, `--memory 1.5g`, `512MiB` as docker's RAMInBytes reads them. */
function sizeInBytes(flag: string, v: string, allowMinusOne = false): number {
  if (allowMinusOne && v === "-1") return -1;
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(v);
  if (!m) throw new CtrError(`invalid value for ${flag}: invalid size: '${v}'`, { kind: "invalid" });
  const unit = "bkmgtp".indexOf((m[2] ?? "b").toLowerCase());
  return Math.floor(Number(m[1]) * 1024 ** unit);
}

function numberFlag(flag: string, v: string, ok: (n: number) => boolean, integer = true): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || !ok(n)) throw new CtrError(`invalid argument "${v}" for "--${flag}" flag`, { kind: "invalid" });
  return n;
}

/**
 * Resource limits need cgroups the user owns: rootless on cgroup v1 there
 * are none, so podman accepts the flags, warns and runs without them. So
 * do we. Values are still checked, so a typo fails as in podman. Returns
 * the flags given (empty: nothing to warn about).
 */
function resourceLimitFlags(o: Record<string, unknown>): string[] {
  const given: string[] = [];
  const check = (key: string, flag: string, parse: (v: string) => unknown) => {
    const v = str(o[key]);
    if (v === undefined) return;
    parse(v);
    given.push(flag);
  };
  check("memory", "memory", (v) => sizeInBytes("memory", v));
  check("memorySwap", "memory-swap", (v) => sizeInBytes("memory-swap", v, true));
  check("memoryReservation", "memory-reservation", (v) => sizeInBytes("memory-reservation", v));
  check("memorySwappiness", "memory-swappiness", (v) => numberFlag("memory-swappiness", v, (n) => n >= -1 && n <= 100));
  check("cpus", "cpus", (v) => numberFlag("cpus", v, (n) => n >= 0, false));
  check("cpuShares", "cpu-shares", (v) => numberFlag("cpu-shares", v, (n) => n >= 0));
  check("cpuPeriod", "cpu-period", (v) => numberFlag("cpu-period", v, (n) => n >= 0));
  check("cpuQuota", "cpu-quota", (v) => numberFlag("cpu-quota", v, (n) => n >= -1));
  check("cpusetCpus", "cpuset-cpus", (v) => /^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v) || numberFlag("cpuset-cpus", v, () => false));
  check("cpusetMems", "cpuset-mems", (v) => /^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v) || numberFlag("cpuset-mems", v, () => false));
  check("pidsLimit", "pids-limit", (v) => numberFlag("pids-limit", v, (n) => n >= -1));
  check("blkioWeight", "blkio-weight", (v) => numberFlag("blkio-weight", v, (n) => n === 0 || (n >= 10 && n <= 1000)));
  if (bool(o.oomKillDisable)) given.push("oom-kill-disable");
  return given;
}

function seconds(flag: string, v: unknown): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isInteger(n) || n < -1) throw new CtrError(`invalid --${flag} "${s}": expected a whole number of seconds`, { kind: "invalid" });
  return n;
}

export { seconds as parseSeconds };

/** `--security-opt`: whether no_new_privs is asked for; other options are refused by name. */
function securityOpts(values: string[]): boolean {
  let noNewPrivileges = false;
  for (const v of values) {
    const m = /^no-new-privileges(?:[:=](true|false))?$/.exec(v);
    if (m) noNewPrivileges = m[1] !== "false";
    else if (v === "seccomp=unconfined" || v === "label=disable" || v === "apparmor=unconfined") continue;
    else throw new CtrError(`unsupported --security-opt "${v}": only no-new-privileges is supported`, { kind: "invalid" });
  }
  return noNewPrivileges;
}

/** `--userns`: rootless, `host` and the default are the same map; `keep-id` is podman's. */
function usernsMode(v: string | undefined): string | undefined {
  if (v === undefined || v === "" || v === "host" || v === "keep-id") return v || undefined;
  throw new CtrError(`unsupported --userns "${v}": expected host or keep-id`, { kind: "invalid" });
}

/**
 * The automatic pull's progress, drawn as `ctr pull` draws it when stderr is
 * a terminal (podman does the same for run and create); elsewhere the plain
 * "Copying blob" lines. Close it once the container is created.
 */
export function pullProgress(): ProgressReporter | undefined {
  // A terminal that reports no size (0 columns) gets the default width, not 20-column lines.
  return process.stderr.isTTY ? terminalProgress((t) => process.stderr.write(t), process.stderr.columns || undefined, process.stderr.rows || undefined) : undefined;
}

export function createOptions(image: string, o: Record<string, unknown>, ctx: CommandContext): CreateOptions {
  const rm = bool(o.rm);
  const oomScoreAdj = str(o.oomScoreAdj);
  return {
    image,
    args: ctx.rest,
    name: str(o.name),
    entrypoint: str(o.entrypoint),
    env: [...readEnvFiles(list(o.envFile)), ...expandEnv(list(o.env))],
    workdir: str(o.workdir),
    user: str(o.user),
    hostname: str(o.hostname),
    tty: bool(o.tty),
    rm,
    pull: oneOf("pull", o.pull, PULL_POLICIES, "missing"),
    platform: str(o.platform),
    readOnly: bool(o.readOnly),
    labels: keyValues("label", o.label),
    interactive: bool(o.interactive),
    restart: parseRestartPolicy(str(o.restart), rm),
    stopSignal: str(o.stopSignal),
    stopTimeout: seconds("stop-timeout", o.stopTimeout),
    security: {
      capAdd: list(o.capAdd).flatMap((c) => c.split(",")),
      capDrop: list(o.capDrop).flatMap((c) => c.split(",")),
      privileged: bool(o.privileged),
      noNewPrivileges: securityOpts(list(o.securityOpt)),
      rlimits: list(o.ulimit).map(parseUlimit),
      oomScoreAdj: oomScoreAdj === undefined ? undefined : numberFlag("oom-score-adj", oomScoreAdj, (n) => n >= -1000 && n <= 1000),
    },
    init: bool(o.init),
    network: {
      ...parseNetworkModes([...list(o.network), ...list(o.net)]),
      aliases: list(o.networkAlias),
      ip: str(o.ip),
      links: list(o.link),
      dns: list(o.dns),
    },
    // Checked here so that a bad spec creates nothing.
    publish: list(o.publish).map((p) => (parsePortSpec(p), p)),
    publishAll: bool(o.publishAll),
    addHosts: list(o.addHost).map(parseAddHost),
    mounts: parseMountFlags({ volume: list(o.volume), mount: list(o.mount), tmpfs: list(o.tmpfs) }),
    volumesFrom: list(o.volumesFrom),
    userns: usernsMode(str(o.userns)),
    resourceLimits: resourceLimitFlags(o),
    kernelMemory: str(o.kernelMemory) !== undefined,
    log: ctx.err,
  };
}

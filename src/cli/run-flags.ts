/** The flags `run` and `create` share, and their translation into {@link CreateOptions}. */
import type { Command } from "cac";
import { CtrError } from "../errors.ts";
import { parseRestartPolicy, type CreateOptions, type PullPolicy } from "../runtime/container.ts";
import { parseUlimit } from "../runtime/spec.ts";
import { parseNetworkMode } from "../network/mode.ts";
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
    .option("--sig-proxy <bool>", "Proxy received signals to the container (default true)")
    .option("--network <mode>", "Network mode: slirp4netns (default, also private), none, host")
    .option("--net <mode>", "Same as --network")
    .option("-p, --publish <spec>", "Publish a container's port: [ip:][hostPort:]containerPort[/tcp|udp]")
    .option("--add-host <host>", "Add a line to /etc/hosts: NAME:IP, or NAME:host-gateway for the host (opens its loopback)")
    .option("-v, --volume <volume>", "Bind mount a volume: NAME:PATH, HOST-DIR:PATH[:ro], or PATH for an anonymous volume")
    .option("--mount <mount>", "Attach a mount: type=bind|volume|tmpfs,source=…,target=…[,readonly]")
    .option("--tmpfs <path>", "Mount a tmpfs: PATH[:size=…,mode=…]")
    .option("--volumes-from <container>", "Mount the volumes of another container: CONTAINER[:ro|rw]")
    .option("--userns <mode>", "User namespace: keep-id maps your own uid/gid into the container and runs as them");
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

export function createOptions(image: string, o: Record<string, unknown>, ctx: CommandContext): CreateOptions {
  const rm = bool(o.rm);
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
    },
    init: bool(o.init),
    network: parseNetworkMode(str(o.network) ?? str(o.net)),
    // Checked here so that a bad spec creates nothing.
    publish: list(o.publish).map((p) => (parsePortSpec(p), p)),
    addHosts: list(o.addHost).map(parseAddHost),
    mounts: parseMountFlags({ volume: list(o.volume), mount: list(o.mount), tmpfs: list(o.tmpfs) }),
    volumesFrom: list(o.volumesFrom),
    userns: usernsMode(str(o.userns)),
    log: ctx.err,
  };
}

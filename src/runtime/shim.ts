/**
 * The only module that talks to ctr-shim. Mirrors shim/PROTOCOL.md.
 *
 * The shim is embedded in the compiled ctr binary. It is written once to a
 * content-hashed path under the data dir (a new build gets a new path, so a
 * running monitor's executable is never replaced under it) and run from there.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { CtrError, EXIT_ENGINE } from "../errors.ts";
import type { IdMapping } from "../oci/runtime.ts";
import { processAlive } from "../process-alive.ts";
// The build compiles shim/ to build/ctr-shim first; `type: "file"` embeds it in dist/ctr.
import embeddedShim from "../../build/ctr-shim" with { type: "file" };

export const PROTOCOL_VERSION = 1;

let cachedPath: string | undefined;

/** Path of an executable copy of the shim, extracting it on first use. */
export async function shimPath(dataDir: string): Promise<string> {
  if (cachedPath) return cachedPath;
  if (process.env.CTR_SHIM) return (cachedPath = process.env.CTR_SHIM);
  const bytes = await Bun.file(embeddedShim).bytes();
  const dir = join(dataDir, "shim");
  const path = join(dir, `ctr-shim-${Bun.hash(bytes).toString(16)}`);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    sweepDeadExtractions(dir);
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, bytes, { mode: 0o755 });
    chmodSync(tmp, 0o755);
    renameSync(tmp, path);
  }
  return (cachedPath = path);
}

/** Removes the half-written copies of ctr processes killed while extracting. */
function sweepDeadExtractions(dir: string): void {
  for (const name of readdirSync(dir)) {
    const pid = /\.tmp-(\d+)$/.exec(name)?.[1];
    if (pid && Number(pid) !== process.pid && !processAlive(Number(pid))) rmSync(join(dir, name), { force: true });
  }
}

export type ShimEvent =
  | { type: "hello"; version: number }
  | { type: "warning"; text: string }
  | { type: "ready"; pid: number }
  | { type: "error"; code: number; text: string }
  | { type: "exit"; status: number };

/** Parses one protocol line; unknown lines are ignored by the caller (forward compatible). */
export function parseShimLine(line: string): ShimEvent | undefined {
  const sp = line.indexOf(" ");
  const word = sp < 0 ? line : line.slice(0, sp);
  const rest = sp < 0 ? "" : line.slice(sp + 1);
  switch (word) {
    case "hello":
      return { type: "hello", version: Number(rest) };
    case "warning":
      return { type: "warning", text: rest };
    case "ready":
      return { type: "ready", pid: Number(rest) };
    case "error": {
      const sp2 = rest.indexOf(" ");
      const code = Number(sp2 < 0 ? rest : rest.slice(0, sp2));
      return { type: "error", code: Number.isInteger(code) && code > 0 ? code : EXIT_ENGINE, text: sp2 < 0 ? "" : rest.slice(sp2 + 1) };
    }
    case "exit":
      return { type: "exit", status: Number(rest) };
    default:
      return undefined;
  }
}

export interface ShimRun {
  /** Resolves at `ready` (with the container pid) or rejects with the shim's error. */
  ready: Promise<number>;
  /** Resolves with the container's exit status once the shim has ended. */
  exited: Promise<number>;
  /** Stops listening: a detached container runs on without us. */
  detach(): void;
  shimPid: number;
  /** With `pipeStdin`: the container's input, which we feed. */
  stdin?: import("bun").FileSink;
}

export interface ShimRunOptions {
  bundle: string;
  stateDir: string;
  detach: boolean;
  /** Attached runs only: pass our stdin to the container (`-i`). */
  stdin?: boolean;
  /** Attached, with `stdin`: a pipe we write to (`ShimRun.stdin`) instead of our own stdin, to catch detach keys. */
  pipeStdin?: boolean;
  /** The container's stdout/stderr go through the monitor into this log (and to ours when attached). */
  logFile?: string;
  /** `--restart` policy, carried out by the monitor. */
  restart?: string;
  /** Run by the monitor once the container has ended for good (argv). */
  exitCommand?: string[];
  /**
   * Attached runs: the exit command's work, done by us at `exit` instead
   * of by the monitor (`--exit-command-by-caller`); if it throws, or we are
   * killed first, the monitor runs `exitCommand` after all.
   */
  exitWork?: () => Promise<void>;
  /** Detached: keep the container's stdin open for `attach` (`-i`). */
  openStdin?: boolean;
  /** Detached: hold the container's output until a first attach client connects. */
  waitAttach?: boolean;
  /** `ctr-shim exec`: run the bundle's process in the running container whose init is this pid. */
  execInPid?: number;
  /** The network helper (slirp4netns) and its arguments; the shim adds its fds, the pid and `tap0`. */
  netHelper?: string[];
  /** JSON requests the shim sends to the helper's API socket (`slirp.sock`) before the container runs. */
  netHelperRequests?: string[];
  /**
   * A user-defined network's slirp4netns API socket (`<holder dir>/slirp.sock`): `netHelperRequests` go
   * there instead, and the monitor removes the port forwards they add when the container ends
   * (recorded meanwhile in `<stateDir>/hostfwd.json`, see {@link HOSTFWD_FILE}).
   */
  netApiSocket?: string;
  onWarning?: (text: string) => void;
}

/** Starts `ctr-shim run`. Without `detach` the container shares our stdio. */
export async function startShim(dataDir: string, opts: ShimRunOptions): Promise<ShimRun> {
  const shim = await shimPath(dataDir);
  mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  const args =
    opts.execInPid !== undefined
      ? [shim, "exec", "--bundle", opts.bundle, "--pid", String(opts.execInPid), "--sync-fd", "3"]
      : [shim, "run", "--bundle", opts.bundle, "--state", opts.stateDir, "--sync-fd", "3"];
  if (opts.detach) args.push("--detach");
  if (opts.detach && opts.openStdin && opts.execInPid === undefined) args.push("--stdin");
  if (opts.detach && opts.waitAttach && opts.execInPid === undefined) args.push("--wait-attach");
  if (opts.logFile) args.push("--log", opts.logFile);
  if (opts.restart) args.push("--restart", opts.restart);
  if (opts.netHelper?.length) {
    args.push("--net-helper", opts.netHelper[0]!);
    for (const a of opts.netHelper.slice(1)) args.push(`--net-helper-arg=${a}`);
    for (const r of opts.netHelperRequests ?? []) args.push(`--net-helper-request=${r}`);
  } else if (opts.netApiSocket) {
    args.push("--net-api-socket", opts.netApiSocket);
    for (const r of opts.netHelperRequests ?? []) args.push(`--net-helper-request=${r}`);
  }
  if (opts.exitCommand?.length) {
    args.push("--exit-command", opts.exitCommand[0]!);
    for (const a of opts.exitCommand.slice(1)) args.push(`--exit-command-arg=${a}`);
    if (opts.exitWork && !opts.detach) args.push("--exit-command-by-caller");
  }
  const proc = Bun.spawn(args, {
    stdio: [opts.detach || !opts.stdin ? "ignore" : opts.pipeStdin ? "pipe" : "inherit", opts.detach ? "ignore" : "inherit", opts.detach ? "ignore" : "inherit", "socket-fd"],
    // We relay its input (and window size): in a session of its own, it
    // outlives our leaving (detach keys) without the terminal's SIGHUP.
    detached: opts.pipeStdin === true && opts.stdin === true && !opts.detach,
  });
  const fd = (proc.stdio as unknown as (number | null)[])[3];
  if (typeof fd !== "number") throw new CtrError("cannot open the sync socket to ctr-shim");
  // node:net cannot wrap this fd under Bun; a file stream over it reads the socket fine.
  const reader = Bun.file(fd).stream().getReader();

  let resolveReady!: (pid: number) => void;
  let rejectReady!: (err: CtrError) => void;
  const ready = new Promise<number>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  // Attached runs never await `ready`; its failure then surfaces through `exited`.
  ready.catch(() => {});
  let status: number | undefined;
  let failure: CtrError | undefined;
  const handle = (ev: ShimEvent | undefined) => {
    if (!ev) return;
    if (ev.type === "hello" && ev.version !== PROTOCOL_VERSION) {
      failure = new CtrError(`ctr-shim speaks protocol ${ev.version}, ctr expects ${PROTOCOL_VERSION}`);
      rejectReady(failure);
    } else if (ev.type === "warning") opts.onWarning?.(ev.text);
    else if (ev.type === "ready") resolveReady(ev.pid);
    else if (ev.type === "error") {
      failure = new CtrError(ev.text || "container setup failed", { exitCode: ev.code });
      rejectReady(failure);
    } else if (ev.type === "exit") {
      status = ev.status;
      if (exitWork) void exitWork();
    }
  };
  // Between `exit` and the answer the monitor waits for us: it exits once
  // it has read `done` (or EOF).
  const exitWorkDone = Promise.withResolvers<void>();
  const exitWork = opts.exitWork && opts.exitCommand?.length && !opts.detach
    ? async () => {
        try {
          await opts.exitWork!();
          writeSync(fd, "done\n");
        } catch (err) {
          opts.onWarning?.(err instanceof Error ? err.message : String(err));
        }
        exitWorkDone.resolve();
      }
    : undefined;
  let detached = false;
  const closed = (async () => {
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          handle(parseShimLine(buffered.slice(0, nl)));
          buffered = buffered.slice(nl + 1);
        }
      }
    } catch {
      // the socket was closed under us (detach) or the shim vanished: the exit path reports
    }
    if (!detached) rejectReady(failure ?? new CtrError("ctr-shim closed the sync socket before the container started"));
  })();

  const exited = (async () => {
    if (exitWork) {
      await Promise.race([exitWorkDone.promise, closed]);
      // EOF for the monitor: after `done`, or instead of it.
      void reader.cancel().catch(() => {});
      try {
        closeSync(fd);
      } catch {
        // already closed by the stream
      }
    }
    const code = await proc.exited;
    if (!opts.detach) await closed;
    if (failure) throw failure;
    if (status !== undefined) return status;
    if (opts.detach) return code;
    const err = new CtrError(`ctr-shim ended unexpectedly (exit ${code}, signal ${proc.signalCode ?? "none"})`);
    rejectReady(err);
    throw err;
  })();
  // The detached shim's first process exits as soon as the monitor has forked away.
  void exited.catch((err) => rejectReady(err instanceof CtrError ? err : new CtrError(String(err))));

  return {
    ready,
    exited,
    shimPid: proc.pid,
    stdin: opts.pipeStdin && opts.stdin && !opts.detach ? (proc.stdin as unknown as import("bun").FileSink) : undefined,
    detach: () => {
      detached = true;
      // An attached shim we leave behind (exec's detach keys) supervises on without us.
      proc.unref();
      void reader.cancel().catch(() => {});
      try {
        closeSync(fd);
      } catch {
        // already closed by the stream
      }
    },
  };
}

/** config.json annotation: the container's interfaces on user-defined networks, a JSON array of {@link NetAttachment}. */
export const NETWORK_ATTACHMENTS_ANNOTATION = "run.ctr.network.attachments";

/** One interface of a container on a user-defined network (shim/PROTOCOL.md, "Networks"). */
export interface NetAttachment {
  /** The holder's network namespace, `/proc/<holder pid>/ns/net`. */
  netns: string;
  /** The bridge there (`br0`). */
  bridge: string;
  /** The veth end created in the holder's namespace (at most 15 characters, unique there). */
  hostInterface: string;
  /** The container's interface (`eth0`, `eth1`, …). */
  interface: string;
  /** The container's address with the prefix length, `10.89.1.4/24`. */
  address: string;
  /** Only on the first network: the default route goes via it (the subnet's `.2`, slirp4netns's router). */
  gateway?: string;
  mtu?: number;
  /** `aa:bb:cc:dd:ee:ff`; the kernel picks one when absent. */
  mac?: string;
}

/** `DIR/holder.json`, read by `ctr-shim net-holder DIR`. */
export interface NetHolderConfig {
  /** Join the network user namespace by path, or create it with these maps (the first holder). */
  userns: { path: string } | { uidMappings: IdMapping[]; gidMappings: IdMapping[] };
  bridge: string;
  /** The bridge's address with the prefix length (the subnet's `.1`). */
  address: string;
  mtu?: number;
  /** slirp4netns (its path and arguments such as `--cidr`; the shim adds the namespaces, fds, API socket and device). Absent for `--internal`. */
  slirp?: { path: string; args: string[]; device?: string };
}

/** Files the holder writes in its directory. */
export const HOLDER_FILES = {
  config: "holder.json",
  /** The holder's pid: `/proc/<pid>/ns/{user,net}` name the network's namespaces. */
  pid: "holder.pid",
  /** slirp4netns's pid (absent for an internal network). */
  slirpPid: "slirp.pid",
  /** slirp4netns's API socket, for {@link ShimRunOptions.netApiSocket}. */
  apiSocket: "slirp.sock",
  /** The holder's and slirp4netns's stderr. */
  log: "holder.log",
} as const;

/** `<stateDir>/hostfwd.json`: the port forwards a container's monitor added on a network's API socket and has not removed yet. */
export const HOSTFWD_FILE = "hostfwd.json";
export type HostForwardRecord = { socket: string; id: number }[];

/** `ctr-shim net-holder DIR`: prints `ready <pid>` and exits 0 once the network is up, or exits 125 with `error: <text>` on stderr. */
export function netHolderArgv(shim: string, dir: string): string[] {
  return [shim, "net-holder", dir];
}

/** `ctr-shim net-attach PID JSON`: adds one interface to the running container whose init is `pid`. */
export function netAttachArgv(shim: string, pid: number, attachment: NetAttachment): string[] {
  return [shim, "net-attach", String(pid), JSON.stringify(attachment)];
}

/** `ctr-shim net-detach PID IFNAME`: deletes the container's interface (and its veth peer in the holder). */
export function netDetachArgv(shim: string, pid: number, ifname: string): string[] {
  return [shim, "net-detach", String(pid), ifname];
}

/** The holder's pid from `net-holder`'s stdout (`ready <pid>`). */
export function parseHolderReady(stdout: string): number | undefined {
  const m = /^ready (\d+)$/m.exec(stdout);
  return m ? Number(m[1]) : undefined;
}

/**
 * The shim's one-line complaint from a net-* command's stderr, without its prefix
 * (`error: ` for net-holder, `ctr-shim: ` for net-attach/net-detach).
 */
export function shimErrorText(stderr: string): string {
  const line = stderr.trim().split("\n").pop() ?? "";
  return line.replace(/^(error|ctr-shim): /, "") || "ctr-shim failed without a message";
}

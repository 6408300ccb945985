/**
 * Container lifecycle: create (image → bundle + writable layer), start
 * (hand the bundle to a shim), remove. The CLI verbs call these; nothing
 * here prints except through the `log` callback.
 */
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { join } from "node:path";
import { CtrError, EXIT_ENGINE } from "../errors.ts";
import { writeJsonAtomic } from "../fs-util.ts";
import type { ImageContext } from "../image/image-context.ts";
import { parsePlatform } from "../image/platform.ts";
import type { ImageRecord } from "../image/store/image-store.ts";
import type { Lease } from "../image/store/leases.ts";
import type { ProgressReporter } from "../image/progress.ts";
import type { ImageConfig } from "../oci/image.ts";
import { ctrPaths } from "../paths.ts";
import { ContainerStore, type ContainerRecord } from "./container-store.ts";
import { readImageFile } from "./image-files.ts";
import { pauseContainer } from "./processes.ts";
import { newContainerId, randomName, VALID_NAME } from "./names.ts";
import { removeTree } from "./remove-tree.ts";
import { attachContainer, parseDetachKeys } from "./attach.ts";
import { etcFilesIn, writeEtcFiles } from "./etc-files.ts";
import { shimPath, startShim } from "./shim.ts";
import { buildSpec, processArgs, type SecurityOptions } from "./spec.ts";
import { clearState, containerStateDir, readLiveState } from "./state.ts";
import { keepIdMaps, userIdMaps } from "./subid.ts";
import { keepIdEtc } from "./keep-id-user.ts";
import { resolveUser } from "./users.ts";
import type { NetworkConfig } from "../network/mode.ts";
import { startNetwork, type ContainerNetwork } from "../network/start.ts";
import { withExposedPorts } from "../network/publish-all.ts";
import { containerLeftNetworks, containerNetwork, networkExitCommand } from "../network/lifecycle.ts";
import { volumesFromContainer, volumesFromRequests, type MountRequest } from "../volume/mount-spec.ts";
import { removeAnonymousVolumes } from "../volume/remove.ts";
import { resolveMounts } from "../volume/resolve.ts";
import { volumeStore } from "../volume/volumes.ts";
import { findLocalImage } from "../image/lookup.ts";

export type PullPolicy = "always" | "missing" | "never" | "newer";

export interface CreateOptions {
  image: string;
  args: string[];
  name?: string;
  entrypoint?: string;
  env: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  tty: boolean;
  rm: boolean;
  pull: PullPolicy;
  platform?: string;
  readOnly: boolean;
  labels: Record<string, string>;
  /** `-i`. */
  interactive?: boolean;
  /** `--restart`, validated by {@link parseRestartPolicy}. */
  restart?: string;
  stopSignal?: string;
  stopTimeout?: number;
  security?: SecurityOptions;
  /** `--init`: the shim as the container's pid 1. */
  init?: boolean;
  /** `--network`, parsed by `parseNetworkMode`; absent: the default network (`podman`). */
  network?: NetworkConfig;
  /** `-p` specs, checked by `parsePortSpec`. */
  publish?: string[];
  /** `-P`: also publish the image's exposed ports on random host ports. */
  publishAll?: boolean;
  /** `--add-host`, checked by `parseAddHost`. */
  addHosts?: string[];
  /** `-v`, `--mount`, `--tmpfs`, parsed by `parseMountFlags`. */
  mounts?: MountRequest[];
  /** `--volumes-from CONTAINER[:ro|rw]`. */
  volumesFrom?: string[];
  /** `--userns`: only `keep-id` changes anything rootless. */
  userns?: string;
  /** Resource-limit flags given (`memory`, `cpus` …): accepted and ignored with podman's warning. */
  resourceLimits?: string[];
  /** `--kernel-memory`: a no-op with its own warning, as in podman. */
  kernelMemory?: boolean;
  log: (line: string) => void;
  /** Draws the automatic pull's per-blob progress (a terminal); absent: `log`'s plain lines. */
  progress?: ProgressReporter;
}

/** podman's words (4.3, rootless on cgroup v1), so scripts that grep for them keep working. */
export const RESOURCE_LIMITS_IGNORED = "Resource limits are not supported and ignored on cgroups V1 rootless systems";

/** Checks `--restart` as docker spells it; returns it unchanged. */
export function parseRestartPolicy(value: string | undefined, rm: boolean): string | undefined {
  if (value === undefined || value === "" || value === "no") return undefined;
  if (!/^(always|unless-stopped|on-failure(:\d+)?)$/.test(value)) {
    throw new CtrError(`invalid restart policy "${value}": expected no, always, unless-stopped or on-failure[:N]`, { kind: "invalid" });
  }
  if (rm) throw new CtrError(`conflicting options: --restart "${value}" and --rm`, { kind: "invalid" });
  return value;
}

export function containerStore(): ContainerStore {
  return new ContainerStore(ctrPaths().data);
}

/** @see containerStateDir, kept under this name for the runtime's callers. */
export const stateDirOf = containerStateDir;

/** Whether the stored image is for `want` (arm64's variant defaults to v8, as in a manifest). */
function imageMatchesPlatform(ctx: ImageContext, image: ImageRecord, want: string): boolean {
  const w = parsePlatform(want);
  const c = ctx.content.readJson<ImageConfig>(image.id);
  const variant = (p: { architecture?: string; variant?: string }) => p.variant ?? (p.architecture === "arm64" ? "v8" : undefined);
  return c.os === w.os && c.architecture === w.architecture && (w.variant === undefined || variant(c) === variant(w));
}

async function imageFor(ctx: ImageContext, opts: CreateOptions): Promise<ImageRecord> {
  let local = opts.pull === "always" ? undefined : findLocalImage(ctx, opts.image);
  // A local image for another platform than --platform asks for is pulled again, as podman does.
  if (local && opts.platform && !imageMatchesPlatform(ctx, local, opts.platform)) {
    if (opts.pull === "never") throw new CtrError(`image "${opts.image}" is stored for another platform than ${opts.platform} and --pull=never`, { kind: "not-found" });
    local = undefined;
  }
  if (local) return local;
  if (opts.pull === "never") throw new CtrError(`image "${opts.image}" not known locally and --pull=never`, { kind: "not-found" });
  // Loaded only to pull: the registry client and layer unpacking (node:tls, bun:ffi) cost a run of a
  // local image several milliseconds of start-up.
  const { pullImage } = await import("../image/pull.ts");
  return pullImage(ctx, opts.image, { log: opts.log, progress: opts.progress, platform: opts.platform ? parsePlatform(opts.platform) : undefined });
}

export async function createContainer(ctx: ImageContext, opts: CreateOptions): Promise<ContainerRecord> {
  if (opts.name !== undefined && !VALID_NAME.test(opts.name)) {
    throw new CtrError(`invalid container name "${opts.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, { kind: "invalid" });
  }
  // Checked before the image is pulled: a network that does not exist creates nothing.
  const network = containerNetwork(opts, containerStore());
  const { image, hold } = await heldImageFor(ctx, opts);
  try {
    return await createFrom(ctx, opts, network, image);
  } finally {
    // The record names the layers now (or there is none): `rmi` and prune go by it from here on.
    hold.release();
  }
}

/**
 * Resolves (or pulls) the image and holds it until the container's record is
 * written, so that an `rmi` or prune at the same instant cannot take its
 * layers. An image removed between resolution and hold is resolved again.
 */
async function heldImageFor(ctx: ImageContext, opts: CreateOptions): Promise<{ image: ImageRecord; hold: Lease }> {
  for (let attempt = 0; ; attempt++) {
    const image = await imageFor(ctx, opts);
    const stillThere = () => ctx.images.list().some((i) => i.id === image.id) && image.layers.every((d) => ctx.layers.has(d));
    const hold = await ctx.leases.hold(image.id, image.layers, stillThere);
    if (hold) return { image, hold };
    if (attempt >= 2) throw new CtrError(`image "${opts.image}" was removed while a container was being created from it`, { kind: "not-found" });
  }
}

async function createFrom(ctx: ImageContext, opts: CreateOptions, network: ContainerNetwork, image: ImageRecord): Promise<ContainerRecord> {
  // No cgroup is ours to limit (rootless, no delegation): say so and run without.
  if (opts.resourceLimits?.length) opts.log(RESOURCE_LIMITS_IGNORED);
  if (opts.kernelMemory) opts.log("WARN: The --kernel-memory flag is no longer supported. This flag is a noop.");
  const config = ctx.content.readJson<ImageConfig>(image.id);
  const runConfig = config.config ?? {};
  if (opts.publishAll) {
    network.publish = withExposedPorts(network, runConfig.ExposedPorts);
    network.publishAll = true;
  }
  const store = containerStore();
  const id = newContainerId();
  const dir = store.dir(id);
  const lowerDirs = image.layers.map((d) => ctx.layers.diffDir(d));
  const keepId = opts.userns === "keep-id";
  const passwd = readImageFile(lowerDirs, "/etc/passwd");
  const group = readImageFile(lowerDirs, "/etc/group");
  // keep-id runs the process as the user's own uid/gid, as podman does, unless --user says otherwise.
  const userSpec = opts.user ?? (keepId ? `${process.getuid!()}:${process.getgid!()}` : runConfig.User);
  const user = resolveUser(userSpec, passwd, group);
  const maps = keepId ? keepIdMaps() : userIdMaps();
  if (maps.warning) opts.log(`WARN: ${maps.warning}`);
  const rootfs = { merged: join(dir, "merged"), lowerDirs, upperDir: join(dir, "upper"), workDir: join(dir, "work") };
  const requests = [...(opts.mounts ?? [])];
  const taken = new Set(requests.map((r) => r.target));
  for (const v of opts.volumesFrom ?? []) requests.push(...volumesFromRequests(v, store.get(volumesFromContainer(v)).mounts ?? [], taken));
  const volumes = await resolveMounts(volumeStore(), requests, Object.keys(runConfig.Volumes ?? {}), lowerDirs, { uid: user.uid, gid: user.gid, ...maps });
  // keep-id: the user's own passwd and group entries, as podman adds them.
  const keepIdFiles = keepId ? keepIdEtc(dir, passwd, group, opts.workdir || runConfig.WorkingDir || "/", volumes.mounts) : undefined;
  if (keepIdFiles && user.uid === process.getuid!()) user.home = keepIdFiles.home;
  const spec = buildSpec({
    image: runConfig,
    process: { args: opts.args, entrypoint: opts.entrypoint, env: opts.env, workdir: opts.workdir, tty: opts.tty },
    user,
    hostname: opts.hostname ?? id.slice(0, 12),
    rootfs,
    uidMappings: maps.uidMappings,
    gidMappings: maps.gidMappings,
    readOnly: opts.readOnly,
    security: opts.security,
    initPath: opts.init ? await shimPath(ctrPaths().data) : undefined,
    etcFiles: etcFilesIn(stateDirOf(id)),
    hostNetwork: opts.network?.mode === "host",
    userMounts: [...volumes.mounts, ...(keepIdFiles?.mounts ?? [])],
  });
  const stopSignal = opts.stopSignal ?? runConfig.StopSignal;
  if (stopSignal !== undefined) signalNumber(stopSignal);
  const rec: ContainerRecord = {
    id,
    name: opts.name ?? randomName(),
    created: new Date().toISOString(),
    image: opts.image,
    imageName: image.names[0] ?? image.id,
    imageId: image.id,
    command: processArgs(runConfig, opts),
    rootfs,
    mounts: volumes.records,
    bundle: join(dir, "bundle"),
    autoRemove: opts.rm,
    tty: opts.tty,
    network,
    labels: { ...(runConfig.Labels ?? {}), ...opts.labels },
    interactive: opts.interactive,
    restartPolicy: opts.restart,
    stopSignal,
    stopTimeout: opts.stopTimeout,
    config: {
      env: spec.process.env ?? [],
      workingDir: spec.process.cwd,
      user: opts.user ?? runConfig.User ?? "",
      hostname: spec.hostname ?? "",
      entrypoint: opts.entrypoint !== undefined ? (opts.entrypoint === "" ? [] : [opts.entrypoint]) : runConfig.Entrypoint ?? [],
      cmd: opts.args.length > 0 ? opts.args : opts.entrypoint !== undefined ? [] : runConfig.Cmd ?? [],
    },
  };
  // Retry a generated name that happens to be taken; a user's name is theirs to fix.
  for (let attempt = 0; ; attempt++) {
    try {
      await store.create(rec, (tmp) => {
        // The upper dir's mode is the container's "/": 0755 as in an image, not
        // 0700 (which would lock out every non-root user inside). The
        // container's directory itself stays private.
        for (const d of ["merged", "upper", "work", "bundle"]) mkdirSync(join(tmp, d), { mode: d === "upper" ? 0o755 : 0o700 });
        chmodSync(join(tmp, "upper"), 0o755);
        writeJsonAtomic(join(tmp, "bundle", "config.json"), spec);
        keepIdFiles?.write(tmp);
      });
      // The record lists its volumes now: `volume prune` sees it from here on.
      volumes.release();
      return rec;
    } catch (err) {
      if (opts.name !== undefined || attempt > 10 || !(err instanceof CtrError) || err.kind !== "conflict") {
        // The anonymous volumes made for it would belong to no container.
        await removeAnonymousVolumes(volumeStore(), rec, store.list()).catch(() => {});
        volumes.release();
        throw err;
      }
      rec.name = randomName();
    }
  }
}

export interface StartOptions {
  detach: boolean;
  /** Attached runs: give the container our stdin (`-i`). */
  stdin?: boolean;
  /** Attached runs: forward SIGTERM, SIGHUP, SIGQUIT to the container (`--sig-proxy`, default true). */
  sigProxy?: boolean;
  /** `-it` runs: the keys that detach (default Ctrl-P Ctrl-Q), as `--detach-keys` spells them. */
  detachKeys?: string;
  log: (line: string) => void;
}

export function logFileOf(id: string): string {
  return join(containerStore().dir(id), "ctr.log");
}

/** Starts a created container. Attached: resolves with its exit status. Detached: once it runs. */
export async function startContainer(rec: ContainerRecord, opts: StartOptions): Promise<number> {
  const stateDir = stateDirOf(rec.id);
  const state = readLiveState(stateDir);
  if (state.status === "running" || state.status === "restarting") throw new CtrError(`container ${rec.name} is already running`, { kind: "conflict" });
  clearState(stateDir);
  // Host ports are checked before anything starts: a port in use fails the run.
  const net = await startNetwork(rec.network, stateDir, opts.log, rec);
  writeEtcFiles(etcFilesIn(stateDir), rec.config?.hostname ?? rec.id.slice(0, 12), rec.name, net.dns);
  net.writeEtc?.(etcFilesIn(stateDir));
  const paths = ctrPaths();
  // A terminal session (`-it`) runs as conmon's do: the monitor detached,
  // ctr attached to it, so that Ctrl-P Ctrl-Q can leave the container running.
  const viaAttach = !opts.detach && opts.stdin === true && rec.tty;
  const detachKeys = viaAttach ? parseDetachKeys(opts.detachKeys ?? "ctrl-p,ctrl-q") : [];
  const run = await startShim(paths.data, {
    bundle: rec.bundle,
    stateDir,
    detach: opts.detach || viaAttach,
    waitAttach: viaAttach,
    stdin: opts.stdin,
    logFile: logFileOf(rec.id),
    openStdin: rec.interactive,
    restart: rec.restartPolicy,
    // --rm is the monitor's job, so that it happens after ctr has gone too;
    // an attached ctr still there at the exit does it itself, sparing a
    // second start of the compiled binary.
    exitCommand: rec.autoRemove ? [process.execPath, "--root", paths.data, "--runroot", paths.runtime, "rm", "-f", "-v", rec.id] : networkExitCommand(rec),
    exitWork: rec.autoRemove ? () => removeWithVolumes(rec) : undefined,
    onWarning: (t) => opts.log(`WARN: ${t}`),
    netHelper: net.helper,
    netHelperRequests: net.requests,
    netApiSocket: net.apiSocket,
  });
  if (opts.detach) {
    await run.ready;
    run.detach();
    await net.publish().catch((err) => failStarted(rec, err));
    return 0;
  }
  if (viaAttach) {
    await run.ready;
    run.detach();
    await net.publish().catch((err) => failStarted(rec, err));
    const end = await attachContainer(rec, { stdin: true, detachKeys, justStarted: true });
    if (end.how === "detached") return 0;
    const code = end.status ?? (await waitContainer(rec));
    return code < 0 ? EXIT_ENGINE : code;
  }
  void run.ready.then(() => net.publish().catch((err) => opts.log(`WARN: ${err instanceof Error ? err.message : String(err)}`)), () => {});
  // Attached: the terminal's ^C reaches the container directly (same process
  // group); ctr stays to collect the exit status and clean up.
  const forward = (sig: NodeJS.Signals) => () => {
    try {
      process.kill(run.shimPid, sig);
    } catch {
      // the shim has already gone
    }
  };
  const proxy = opts.sigProxy !== false;
  const handlers: [NodeJS.Signals, () => void][] = [
    ["SIGINT", () => {}],
    ["SIGTERM", proxy ? forward("SIGTERM") : () => {}],
    ["SIGHUP", proxy ? forward("SIGHUP") : () => {}],
    ["SIGQUIT", proxy ? forward("SIGQUIT") : () => {}],
  ];
  for (const [s, h] of handlers) process.on(s, h);
  try {
    return await run.exited;
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
  }
}

/** A container that runs but could not be set up as asked is stopped, not left half-done. */
async function failStarted(rec: ContainerRecord, err: unknown): Promise<never> {
  try {
    killContainer(rec);
    await waitNotRunning(rec, 5000);
  } catch {
    // it has ended already
  }
  throw err;
}

/** Signal number for `9`, `KILL`, `SIGKILL` (any case). */
export function signalNumber(name: string): number {
  const n = Number(name);
  if (Number.isInteger(n) && n > 0 && n < 65) return n;
  const upper = name.toUpperCase();
  const num = (osConstants.signals as Record<string, number>)[upper.startsWith("SIG") ? upper : `SIG${upper}`];
  if (num === undefined) throw new CtrError(`invalid signal "${name}"`, { kind: "invalid" });
  return num;
}

/** Running, or about to run again under its restart policy. */
function isRunning(rec: ContainerRecord): boolean {
  const status = readLiveState(stateDirOf(rec.id)).status;
  return status === "running" || status === "restarting";
}

/** Tells the monitor not to restart: the user ended the container. */
function markStopped(rec: ContainerRecord): void {
  try {
    writeFileSync(join(stateDirOf(rec.id), "stopped"), "");
  } catch {
    // no state dir: nothing runs, nothing to restart
  }
}

/**
 * Notes the signal ctr is about to send, so that an exit by that signal is
 * told apart from one the container died of by itself (inspect's
 * StoppedByUser).
 */
function recordKill(rec: ContainerRecord, sig: number): void {
  try {
    writeFileSync(join(stateDirOf(rec.id), "killed"), `signal=${sig}\nsentAt=${Date.now()}\n`);
  } catch {
    // no state dir: nothing runs
  }
}

/** Sends `signal` to the container's init. */
export function killContainer(rec: ContainerRecord, signal: string | number = "SIGKILL"): void {
  const state = readLiveState(stateDirOf(rec.id));
  if (state.status !== "running" || !state.pid) throw new CtrError(`container ${rec.name} is not running`, { kind: "conflict" });
  const sig = typeof signal === "number" ? signal : signalNumber(signal);
  if (sig === osConstants.signals.SIGKILL || sig === osConstants.signals.SIGTERM) markStopped(rec);
  recordKill(rec, sig);
  try {
    process.kill(state.pid, sig);
    if (state.paused && sig !== osConstants.signals.SIGSTOP) pauseContainer(rec, false);
  } catch (err) {
    throw new CtrError(`cannot send signal ${signal} to container ${rec.name}`, { cause: err });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once the container is no longer running (or after `timeoutMs`); whether it stopped. */
async function waitNotRunning(rec: ContainerRecord, timeoutMs = Infinity): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 100)) {
    if (!isRunning(rec)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())));
  }
}

/**
 * `stop`: the stop signal (`--stop-signal`, the image's StopSignal, else
 * SIGTERM), then SIGKILL after `timeoutSec` (default `--stop-timeout`, 10).
 * Stopping a container that is not running does nothing, as in docker.
 */
export async function stopContainer(rec: ContainerRecord, timeoutSec?: number): Promise<void> {
  const state = readLiveState(stateDirOf(rec.id));
  if (state.status === "restarting") {
    markStopped(rec);
    await waitNotRunning(rec);
    return;
  }
  if (state.status !== "running" || !state.pid) return;
  markStopped(rec);
  // A stopped (paused) process would hold the signal pending until the timeout.
  if (state.paused) pauseContainer(rec, false);
  const timeout = timeoutSec ?? rec.stopTimeout ?? 10;
  const pid = state.pid;
  const send = (sig: number) => {
    recordKill(rec, sig);
    try {
      process.kill(pid, sig);
    } catch {
      // it has just ended
    }
  };
  if (timeout > 0) {
    send(signalNumber(rec.stopSignal ?? "SIGTERM"));
    if (await waitNotRunning(rec, timeout * 1000)) return;
  }
  send(osConstants.signals.SIGKILL);
  await waitNotRunning(rec);
}

/** Waits for the container to stop; its exit code (-1 if nobody recorded one). */
export async function waitContainer(rec: ContainerRecord): Promise<number> {
  for (;;) {
    await waitNotRunning(rec);
    const state = readLiveState(stateDirOf(rec.id));
    if (state.status === "exited") return state.exitCode ?? 0;
    if (state.status === "stopped") return -1;
    // Never started (no monitor): not running, as docker's and podman's wait count it.
    if (state.status === "created" && state.shimPid === undefined) return 0;
    await sleep(100);
  }
}

export async function renameContainer(rec: ContainerRecord, newName: string): Promise<void> {
  if (!VALID_NAME.test(newName)) {
    throw new CtrError(`invalid container name "${newName}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, { kind: "invalid" });
  }
  await containerStore().update(rec.id, (r) => {
    r.name = newName;
  });
}

/** `rm -f -v`: the container and the anonymous volumes made for it. */
export async function removeWithVolumes(rec: ContainerRecord): Promise<void> {
  await removeContainer(rec, true);
  // Only then are the other containers read: most have no anonymous volume.
  if (rec.mounts?.some((m) => m.Anonymous)) await removeAnonymousVolumes(volumeStore(), rec, containerStore().list());
}

export async function removeContainer(rec: ContainerRecord, force: boolean): Promise<void> {
  const stateDir = stateDirOf(rec.id);
  const state = readLiveState(stateDir);
  if (state.status === "running" || state.status === "restarting") {
    if (!force) throw new CtrError(`cannot remove container ${rec.name}: it is running (stop it first or use -f)`, { kind: "conflict" });
    await stopContainer(rec, 0);
  }
  clearState(stateDir);
  if (rec.network?.mode === "bridge") await containerLeftNetworks(rec.id, Object.keys(rec.network.networks ?? {}));
  // The record goes last: a removal cut short (ctr killed) leaves a
  // container that `rm` still finds, not a nameless directory.
  const store = containerStore();
  const dir = store.dir(rec.id);
  let entries: string[] = [];
  try {
    entries = readdirSync(dir).filter((e) => e !== "container.json");
  } catch {
    // gone already
  }
  for (const e of entries) await removeTree(ctrPaths().data, join(dir, e));
  await store.forget(rec);
}

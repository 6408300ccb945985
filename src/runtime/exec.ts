/**
 * `exec`: a new process in a running container. ctr writes a bundle whose
 * config.json is the container's with `process` replaced, and `ctr-shim
 * exec` joins the container's namespaces (user first) and runs it.
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CtrError } from "../errors.ts";
import { writeJsonAtomic } from "../fs-util.ts";
import type { Spec } from "../oci/runtime.ts";
import type { ContainerRecord } from "./container-store.ts";
import { stateDirOf } from "./container.ts";
import { readImageFile } from "./image-files.ts";
import { ctrPaths } from "../paths.ts";
import { detachKeyFilter, parseDetachKeys } from "./attach.ts";
import { startShim, type ShimRun } from "./shim.ts";
import { ALL_CAPABILITIES, mergeEnv } from "./spec.ts";
import { readLiveState } from "./state.ts";
import { resolveUser } from "./users.ts";

export interface ExecOptions {
  args: string[];
  env: string[];
  user?: string;
  workdir?: string;
  tty: boolean;
  interactive: boolean;
  detach: boolean;
  /** `-it`: the keys that detach, leaving the process running (default Ctrl-P Ctrl-Q), as `--detach-keys` spells them. */
  detachKeys?: string;
  /** `--privileged`: every capability (of the container's user namespace), whatever the container has. */
  privileged?: boolean;
  log: (line: string) => void;
}

/** Runs `opts.args` in the container; attached: its exit status, detached: 0 once it runs. */
export async function execInContainer(rec: ContainerRecord, opts: ExecOptions): Promise<number> {
  const stateDir = stateDirOf(rec.id);
  const state = readLiveState(stateDir);
  if (state.status !== "running" || !state.pid) throw new CtrError(`container ${rec.name} is not running`, { kind: "conflict" });
  if (opts.args.length === 0) throw new CtrError("exec requires a command to run", { kind: "invalid" });
  const spec = JSON.parse(readFileSync(join(rec.bundle, "config.json"), "utf8")) as Spec;
  const layers = [...rec.rootfs.lowerDirs, rec.rootfs.upperDir];
  const proc = { ...spec.process };
  if (opts.user !== undefined) {
    const user = resolveUser(opts.user, readImageFile(layers, "/etc/passwd"), readImageFile(layers, "/etc/group"));
    proc.user = { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) };
  }
  proc.args = opts.args;
  proc.env = mergeEnv(proc.env ?? [], opts.tty ? ["TERM=xterm"] : [], opts.env);
  proc.cwd = opts.workdir ?? proc.cwd;
  proc.terminal = opts.tty;
  if (opts.privileged) proc.capabilities = { bounding: ALL_CAPABILITIES, effective: ALL_CAPABILITIES, permitted: ALL_CAPABILITIES };
  // -it: we sit between the terminal and the shim, to see the detach keys.
  const detachKeys = opts.tty && opts.interactive && !opts.detach ? parseDetachKeys(opts.detachKeys ?? "ctrl-p,ctrl-q") : [];
  const dir = join(stateDir, `exec-${crypto.randomUUID()}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeJsonAtomic(join(dir, "config.json"), { ...spec, process: proc });
  // Raw before the process can print a prompt: keys typed at it must not be
  // taken by the terminal's line discipline (^Q is its XON) meanwhile.
  const raw = detachKeys.length > 0 && process.stdin.isTTY === true;
  if (raw) process.stdin.setRawMode(true);
  try {
    const run = await startShim(ctrPaths().data, {
      bundle: dir,
      stateDir: dir,
      detach: opts.detach,
      stdin: opts.interactive,
      pipeStdin: detachKeys.length > 0,
      execInPid: state.pid,
      onWarning: (t) => opts.log(`WARN: ${t}`),
    });
    if (opts.detach) {
      await run.ready;
      run.detach();
      return 0;
    }
    // As for an attached run: the terminal's ^C reaches the shim, which forwards it.
    const ignore = () => {};
    process.on("SIGINT", ignore);
    try {
      return run.stdin ? await relayInput(run, detachKeys) : await run.exited;
    } finally {
      process.off("SIGINT", ignore);
    }
  } finally {
    if (raw) process.stdin.setRawMode(false);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Copies our stdin (already raw, on a terminal) to the exec'd process's terminal
 * until it ends (its status) or the user types the detach keys (0): the
 * shim then supervises it on alone, as after `ctr exec` is killed.
 */
async function relayInput(run: ShimRun, keys: number[]): Promise<number> {
  const sink = run.stdin!;
  const filter = detachKeyFilter(keys);
  let detach!: () => void;
  const detached = new Promise<"detached">((r) => (detach = () => r("detached")));
  const write = (data: Uint8Array) => {
    try {
      sink.write(data);
      void Promise.resolve(sink.flush()).catch(() => {});
    } catch {
      // the process has ended: its status is on its way
    }
  };
  const onData = (chunk: Buffer) => {
    const { out, detach: done } = filter(chunk);
    if (out.length > 0) write(out);
    if (done) detach();
  };
  const onEnd = () => void Promise.resolve(sink.end()).catch(() => {});
  // The shim has a session of its own: the terminal's SIGWINCH reaches only us.
  const onResize = () => {
    try {
      process.kill(run.shimPid, "SIGWINCH");
    } catch {
      // it has ended
    }
  };
  process.on("SIGWINCH", onResize);
  process.stdin.on("data", onData);
  process.stdin.on("end", onEnd);
  process.stdin.resume();
  try {
    const end = await Promise.race([run.exited, detached]);
    if (end !== "detached") return end;
    run.detach();
    return 0;
  } finally {
    process.stdin.off("data", onData);
    process.stdin.off("end", onEnd);
    process.off("SIGWINCH", onResize);
    process.stdin.pause();
  }
}

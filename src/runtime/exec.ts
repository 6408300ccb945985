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
import { startShim } from "./shim.ts";
import { mergeEnv } from "./spec.ts";
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
  const dir = join(stateDir, `exec-${crypto.randomUUID()}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeJsonAtomic(join(dir, "config.json"), { ...spec, process: proc });
  try {
    const run = await startShim(ctrPaths().data, {
      bundle: dir,
      stateDir: dir,
      detach: opts.detach,
      stdin: opts.interactive,
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
      return await run.exited;
    } finally {
      process.off("SIGINT", ignore);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

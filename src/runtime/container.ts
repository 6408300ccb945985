/**
 * Container lifecycle: create (image → bundle + writable layer), start
 * (hand the bundle to a shim), remove. The CLI verbs call these; nothing
 * here prints except through the `log` callback.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { CtrError } from "../errors.ts";
import { writeJsonAtomic } from "../fs-util.ts";
import type { ImageContext } from "../image/image-context.ts";
import { pullImage } from "../image/pull.ts";
import { parsePlatform } from "../image/platform.ts";
import { formatReference, parseReference } from "../image/reference.ts";
import { loadRegistriesConf, shortNameCandidates } from "../image/registries-conf.ts";
import type { ImageRecord } from "../image/store/image-store.ts";
import type { ImageConfig } from "../oci/image.ts";
import { ctrPaths } from "../paths.ts";
import { ContainerStore, type ContainerRecord } from "./container-store.ts";
import { readImageFile } from "./image-files.ts";
import { newContainerId, randomName, VALID_NAME } from "./names.ts";
import { removeTree } from "./remove-tree.ts";
import { startShim } from "./shim.ts";
import { buildSpec, processArgs } from "./spec.ts";
import { clearState, readLiveState } from "./state.ts";
import { userIdMaps } from "./subid.ts";
import { resolveUser } from "./users.ts";

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
  log: (line: string) => void;
}

export function containerStore(): ContainerStore {
  return new ContainerStore(ctrPaths().data);
}

export function stateDirOf(id: string): string {
  return join(ctrPaths().runtime, "containers", id);
}

/** Finds an image in the local store by ID, full name, or short name as podman resolves it. */
export function findLocalImage(ctx: ImageContext, input: string): ImageRecord | undefined {
  const direct = ctx.images.find(input);
  if (direct) return direct;
  const ref = parseReference(input);
  let names: string[] = [];
  try {
    names = shortNameCandidates(loadRegistriesConf(), ref).map(formatReference);
  } catch {
    // an unresolvable short name may still name a local image
  }
  if (!ref.domain) names.push(formatReference({ ...ref, domain: "localhost", tag: ref.tag ?? (ref.digest ? undefined : "latest") }));
  for (const name of names) {
    const hit = ctx.images.find(name);
    if (hit) return hit;
  }
  return undefined;
}

async function imageFor(ctx: ImageContext, opts: CreateOptions): Promise<ImageRecord> {
  const local = opts.pull === "always" ? undefined : findLocalImage(ctx, opts.image);
  if (local) return local;
  if (opts.pull === "never") throw new CtrError(`image "${opts.image}" not known locally and --pull=never`, { kind: "not-found" });
  return pullImage(ctx, opts.image, { log: opts.log, platform: opts.platform ? parsePlatform(opts.platform) : undefined });
}

export async function createContainer(ctx: ImageContext, opts: CreateOptions): Promise<ContainerRecord> {
  if (opts.name !== undefined && !VALID_NAME.test(opts.name)) {
    throw new CtrError(`invalid container name "${opts.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, { kind: "invalid" });
  }
  const image = await imageFor(ctx, opts);
  const config = ctx.content.readJson<ImageConfig>(image.id);
  const runConfig = config.config ?? {};
  const store = containerStore();
  const id = newContainerId();
  const dir = store.dir(id);
  const lowerDirs = image.layers.map((d) => ctx.layers.diffDir(d));
  const user = resolveUser(opts.user ?? runConfig.User, readImageFile(lowerDirs, "/etc/passwd"), readImageFile(lowerDirs, "/etc/group"));
  const maps = userIdMaps();
  if (maps.warning) opts.log(`WARN: ${maps.warning}`);
  const rootfs = { merged: join(dir, "merged"), lowerDirs, upperDir: join(dir, "upper"), workDir: join(dir, "work") };
  const spec = buildSpec({
    image: runConfig,
    process: { args: opts.args, entrypoint: opts.entrypoint, env: opts.env, workdir: opts.workdir, tty: opts.tty },
    user,
    hostname: opts.hostname ?? id.slice(0, 12),
    rootfs,
    uidMappings: maps.uidMappings,
    gidMappings: maps.gidMappings,
    readOnly: opts.readOnly,
  });
  const rec: ContainerRecord = {
    id,
    name: opts.name ?? randomName(),
    created: new Date().toISOString(),
    image: opts.image,
    imageName: image.names[0] ?? image.id,
    imageId: image.id,
    command: processArgs(runConfig, opts),
    rootfs,
    bundle: join(dir, "bundle"),
    autoRemove: opts.rm,
    tty: opts.tty,
    labels: opts.labels,
  };
  // Retry a generated name that happens to be taken; a user's name is theirs to fix.
  for (let attempt = 0; ; attempt++) {
    try {
      await store.create(rec, (tmp) => {
        for (const d of ["merged", "upper", "work", "bundle"]) mkdirSync(join(tmp, d), { mode: 0o700 });
        writeJsonAtomic(join(tmp, "bundle", "config.json"), spec);
      });
      return rec;
    } catch (err) {
      if (opts.name !== undefined || attempt > 10 || !(err instanceof CtrError) || err.kind !== "conflict") throw err;
      rec.name = randomName();
    }
  }
}

export interface StartOptions {
  detach: boolean;
  /** Attached runs: give the container our stdin (`-i`). */
  stdin?: boolean;
  log: (line: string) => void;
}

/** Starts a created container. Attached: resolves with its exit status. Detached: once it runs. */
export async function startContainer(rec: ContainerRecord, opts: StartOptions): Promise<number> {
  const stateDir = stateDirOf(rec.id);
  const state = readLiveState(stateDir);
  if (state.status === "running") throw new CtrError(`container ${rec.name} is already running`, { kind: "conflict" });
  clearState(stateDir);
  const run = await startShim(ctrPaths().data, {
    bundle: rec.bundle,
    stateDir,
    detach: opts.detach,
    stdin: opts.stdin,
    logFile: opts.detach ? join(containerStore().dir(rec.id), "ctr.log") : undefined,
    onWarning: (t) => opts.log(`WARN: ${t}`),
  });
  if (opts.detach) {
    await run.ready;
    run.detach();
    return 0;
  }
  // Attached: the terminal's ^C reaches the container directly (same process
  // group); ctr stays to collect the exit status and clean up.
  const forward = (sig: NodeJS.Signals) => () => {
    try {
      process.kill(run.shimPid, sig);
    } catch {
      // the shim has already gone
    }
  };
  const handlers: [NodeJS.Signals, () => void][] = [
    ["SIGINT", () => {}],
    ["SIGTERM", forward("SIGTERM")],
    ["SIGHUP", forward("SIGHUP")],
    ["SIGQUIT", forward("SIGQUIT")],
  ];
  for (const [s, h] of handlers) process.on(s, h);
  try {
    return await run.exited;
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
  }
}

export async function removeContainer(rec: ContainerRecord, force: boolean): Promise<void> {
  const stateDir = stateDirOf(rec.id);
  const state = readLiveState(stateDir);
  if (state.status === "running") {
    if (!force) throw new CtrError(`cannot remove container ${rec.name}: it is running (stop it first or use -f)`, { kind: "conflict" });
    if (state.pid) {
      try {
        process.kill(state.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  clearState(stateDir);
  await removeTree(ctrPaths().data, containerStore().dir(rec.id));
}

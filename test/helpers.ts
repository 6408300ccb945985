/**
 * Helpers for the end-to-end tests in test/: run the built `ctr` binary as a
 * separate process, each test against a fresh, isolated store.
 *
 * `scripts/test.sh` (npm test) runs these tests as the unprivileged user
 * ctrtest with CTR_BIN and CTR_TEST_REGISTRY set, the local registry
 * running and seeded (see scripts/seed-images.ts for the images).
 *
 * @example
 * ```ts
 * import { expect, test } from "bun:test";
 * import { ctr, newStore } from "./helpers";
 *
 * test("run prints the command's output", async () => {
 *   await using store = await newStore();
 *   const r = await ctr(["run", "--rm", "alpine", "echo", "hello"], { store });
 *   expect(r).toMatchObject({ code: 0, stdout: "hello\n" });
 * });
 * ```
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { constants, tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The repository root. */
export const REPO_ROOT = resolve(import.meta.dir, "..");

/** The binary under test: `$CTR_BIN`, else `dist/ctr` in this checkout. */
export const CTR_BIN = process.env.CTR_BIN || join(REPO_ROOT, "dist", "ctr");

/**
 * host:port of the local test registry (`$CTR_TEST_REGISTRY`). Short names
 * such as `alpine` reach it too: the test user's registries.conf mirrors
 * docker.io there.
 */
export const REGISTRY = process.env.CTR_TEST_REGISTRY || "127.0.0.1:5055";

/** An isolated ctr store: its own image store, containers and runtime state. */
export interface TestStore {
  /** Temporary directory holding everything below. */
  readonly root: string;
  /** Used as XDG_DATA_HOME. */
  readonly dataHome: string;
  /** ctr's durable store inside it, `<dataHome>/ctr` (created by ctr, not here). */
  readonly dataDir: string;
  /** Used as XDG_RUNTIME_DIR (mode 0700), so live state is `<runtimeDir>/ctr`. */
  readonly runtimeDir: string;
  /** The variables that point ctr at this store. */
  readonly env: Readonly<Record<string, string>>;
  /** {@link treeSnapshot} of `dataDir`: compare two to assert a command changed nothing. */
  snapshot(): string[];
  /** Removes the store; never throws (see {@link newStore}). */
  cleanup(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates a fresh store under the temporary directory. HOME and
 * XDG_CONFIG_HOME are left alone, so the user's registries.conf still applies.
 *
 * `cleanup()` removes the tree even where containers left files owned by
 * subordinate uids, which the user cannot delete directly: it retries `rm`
 * inside a user namespace mapped like a rootless container's (0 to the user,
 * 1.. to the user's subordinate ids). If that fails too, the leftovers stay
 * in the temporary directory and the failure is only logged.
 */
export async function newStore(): Promise<TestStore> {
  const root = await mkdtemp(join(tmpdir(), "ctr-test-"));
  const dataHome = join(root, "data");
  const runtimeDir = join(root, "run");
  await mkdir(dataHome);
  await mkdir(runtimeDir, { mode: 0o700 });
  const dataDir = join(dataHome, "ctr");
  const cleanup = async () => {
    stopNetworkHolders(runtimeDir);
    await removeTree(root);
  };
  return {
    root,
    dataHome,
    dataDir,
    runtimeDir,
    env: { XDG_DATA_HOME: dataHome, XDG_RUNTIME_DIR: runtimeDir },
    snapshot: () => treeSnapshot(dataDir),
    cleanup,
    [Symbol.asyncDispose]: cleanup,
  };
}

/**
 * Ends the network holders (and with them their slirp4netns) that ctr
 * started for a store: the default network's starts with the first
 * container and otherwise outlives the store.
 */
function stopNetworkHolders(runtimeDir: string): void {
  const root = join(runtimeDir, "ctr", "networks");
  let dirs: string[] = [];
  try {
    dirs = readdirSync(root);
  } catch {
    return;
  }
  for (const d of dirs) {
    try {
      const pid = Number(readFileSync(join(root, d, "holder.pid"), "utf8").trim());
      // Only a holder of this store: its command line names its directory.
      if (pid > 0 && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(join(root, d))) process.kill(pid, "SIGTERM");
    } catch {
      // no holder there, or it has ended
    }
  }
}

async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
    return;
  } catch {
    // Fall through: EACCES on files owned by subordinate uids.
  }
  const p = Bun.spawn(["unshare", "--user", "--map-root-user", "--map-auto", "rm", "-rf", "--", dir], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  if (code !== 0) console.warn(`newStore: could not remove "${dir}" (left in place): ${err.trim()}`);
}

export interface CtrOptions {
  /** Extra environment; `undefined` removes a variable. Applied after the store's. */
  env?: Record<string, string | undefined>;
  /** Bytes for the process's stdin; without it stdin is /dev/null. */
  stdin?: string | Uint8Array;
  /** Point ctr at this store (XDG_DATA_HOME, XDG_RUNTIME_DIR). */
  store?: TestStore;
  /** Kill ctr with SIGKILL after this long; default 30 s. */
  timeoutMs?: number;
}

export interface CtrResult {
  /** Exit status, or 128 + signal number if ctr was killed. */
  code: number;
  stdout: string;
  stderr: string;
  /** True when ctr was killed for running past `timeoutMs`. */
  timedOut: boolean;
}

/**
 * Runs `ctr ...args` and collects its exit status and output. Never throws
 * for a non-zero exit; see {@link ctrOk}.
 *
 * @example
 * ```ts
 * const r = await ctr(["pull", "alpine"], { store });
 * expect(r.code).toBe(0);
 * ```
 */
export async function ctr(args: string[], opts: CtrOptions = {}): Promise<CtrResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...opts.store?.env, ...opts.env })) {
    if (v !== undefined) env[k] = v;
  }
  if (!existsSync(CTR_BIN)) throw new Error(`ctr binary "${CTR_BIN}" not found: run "npm run build", or set CTR_BIN`);
  const p = Bun.spawn([CTR_BIN, ...args], {
    env,
    stdin: opts.stdin === undefined ? "ignore" : typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin,
    stdout: "pipe",
    stderr: "pipe",
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.kill("SIGKILL");
  }, opts.timeoutMs ?? 30_000);
  try {
    const [stdout, stderr, exit] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    const signal = p.signalCode ? (constants.signals as Record<string, number>)[p.signalCode] ?? 0 : 0;
    return { code: p.signalCode ? 128 + signal : exit, stdout, stderr, timedOut };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Like {@link ctr}, but throws (with the command, status and stderr in the
 * message) unless ctr exits 0. For steps a test depends on but does not test.
 */
export async function ctrOk(args: string[], opts: CtrOptions = {}): Promise<CtrResult> {
  const r = await ctr(args, opts);
  if (r.code !== 0) {
    throw new Error(`ctr ${args.join(" ")} exited ${r.code}${r.timedOut ? " (timed out)" : ""}: ${r.stderr.trim()}`);
  }
  return r;
}

/**
 * Lists every path under `dir`, relative and sorted, directories with a
 * trailing "/", without following symlinks. Compare two snapshots to assert a
 * failed command left a store unchanged. A missing `dir` gives `[]`; a
 * directory that cannot be read is listed but not descended into.
 */
export function treeSnapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string, rel: string): void => {
    let names: string[];
    try {
      names = readdirSync(abs);
    } catch {
      return;
    }
    for (const name of names) {
      const childRel = rel ? `${rel}/${name}` : name;
      if (lstatSync(join(abs, name)).isDirectory()) {
        out.push(childRel + "/");
        walk(join(abs, name), childRel);
      } else {
        out.push(childRel);
      }
    }
  };
  walk(dir, "");
  return out.sort();
}

/** Pids of the slirp4netns processes serving the container whose init is `pid` (its last arguments are `PID tap0`). */
export function slirpFor(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
      if (argv[0]?.endsWith("slirp4netns") && argv.at(-2) === String(pid) && argv.at(-1) === "tap0") out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

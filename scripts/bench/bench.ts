/**
 * The benchmark itself: times ctr and podman side by side as the unprivileged
 * user, against the same local registry and images, and prints a markdown
 * report (machine, configuration, the table of figures with ratios and
 * targets, and a breakdown of where ctr's time goes where it misses one).
 *
 * Run as root by scripts/bench/run.sh, which first sets up the host, builds
 * ctr and seeds the registry. Root is needed only to run commands as the user
 * (runuser), to read the helpers' /proc/PID/smaps_rollup, and for
 * `strace -u`, which keeps newuidmap setuid while tracing. Every timed
 * command runs as the user, under hyperfine, with a throw-away store: the
 * user's own ctr and podman stores are not touched.
 *
 * Environment: CTR_BIN (binary to time, default dist/ctr; copied first so a
 * rebuild during the run does not change it), CTR_TEST_USER (ctrtest),
 * CTR_TEST_REGISTRY (127.0.0.1:5055), CTR_BENCH_RUNS (runs per command,
 * at least 10), CTR_BENCH_ROUNDS (rounds the runs are split into, 2),
 * CTR_BENCH_CONTAINERS (containers for `ps -a`, 500),
 * CTR_BENCH_BREAKDOWN=always (profile every figure, not only missed targets),
 * CTR_BENCH_REPORT (also write the report to this file), CTR_BENCH_KEEP=1
 * (leave the work directory).
 */
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { BENCH_REPO, BENCH_TAG, IPERF_TAG } from "./seed-bench-image.ts";
import {
  formatKiB, formatRatio, formatSeconds, formatTarget, formatTiming, markdownTable, missed, parseSmapsRollup, summarize, timesFromHyperfine,
  type Bound, type Memory, type Timing,
} from "./stats.ts";
import { formatTimeline, parseStrace, runSpans } from "./timeline.ts";

const REPO = resolve(import.meta.dir, "../..");
const USER = process.env.CTR_TEST_USER || "ctrtest";
const REGISTRY = process.env.CTR_TEST_REGISTRY || "127.0.0.1:5055";
const CTR_SOURCE = process.env.CTR_BIN || join(REPO, "dist", "ctr");
/** hyperfine runs per command; the issue asks for at least 10. */
const RUNS = Math.max(10, Number(process.env.CTR_BENCH_RUNS) || 10);
/** Commands well under a second get twice the runs: they cost little and are noisier. */
const FAST_RUNS = RUNS * 2;
const WARMUP = 3;
/** Rounds the runs are split into, taken in turn by the commands compared. */
const ROUNDS = Math.max(1, Number(process.env.CTR_BENCH_ROUNDS) || 2);
const PS_CONTAINERS = Number(process.env.CTR_BENCH_CONTAINERS) || 500;
const ALWAYS_BREAKDOWN = process.env.CTR_BENCH_BREAKDOWN === "always";
const BENCH_IMAGE = `${REGISTRY}/${BENCH_REPO}:${BENCH_TAG}`;
const IPERF_IMAGE = `${REGISTRY}/${BENCH_REPO}:${IPERF_TAG}`;
/** Seconds per iperf3 test. */
const IPERF_SECONDS = 5;
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const T0 = performance.now();

function log(msg: string): void {
  process.stderr.write(`bench: [${((performance.now() - T0) / 1000).toFixed(0).padStart(3)} s] ${msg}\n`);
}

class BenchError extends Error {}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Last non-empty line of a command's stderr: usually the error. */
function why(r: RunResult): string {
  const lines = (r.stderr || r.stdout).trim().split("\n").filter((l) => l.trim() && !/level=warning/.test(l));
  return (lines.at(-1) ?? `exit status ${r.code}`).trim().slice(0, 200);
}

function run(cmd: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): RunResult {
  const r = Bun.spawnSync(cmd, { cwd: opts.cwd, env: opts.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? 128, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Quotes argv for hyperfine's `-N` (shell-words, no shell). */
function words(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_\/.:=@%+,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** Everything the user's commands see; nothing else of root's environment leaks in. */
interface Bench {
  readonly work: string;
  readonly ctr: string;
  readonly uid: number;
  readonly gid: number;
  readonly env: string[];
  readonly podmanStorageConf: string;
  readonly podmanConf: string;
}

function asUser(b: Bench, cmd: string[]): RunResult {
  return run(["runuser", "-u", USER, "--", "env", "-i", ...b.env, ...cmd], { cwd: b.work });
}

function asUserAsync(b: Bench, cmd: string[]): Promise<RunResult> {
  const p = Bun.spawn(["runuser", "-u", USER, "--", "env", "-i", ...b.env, ...cmd], { cwd: b.work, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  return Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]).then(([stdout, stderr, code]) => ({ code, stdout, stderr }));
}

function ctr(b: Bench, ...args: string[]): string[] {
  return [b.ctr, ...args];
}

/** A measurement, or why there is none. */
type Measured = { timing: Timing } | { error: string } | { na: string };

/** One command to time; `skip` says why it is not timed (then it is not run). */
interface Contender {
  /** File name stem for hyperfine's JSON export. */
  readonly key: string;
  readonly label: string;
  readonly cmd: string[];
  /** Runs before every timed run, untimed (hyperfine --prepare). */
  readonly prepare?: string[];
  readonly skip?: string;
}

/**
 * Times the contenders with hyperfine as the user and reads the per-run
 * times back from its JSON exports. The runs are split into ROUNDS rounds
 * taken in turn (ctr, podman, floor, ctr, podman, floor), so that load which
 * comes and goes on a shared machine hits each alike; each round has its own
 * warmup. A command that fails is run once more, outside hyperfine, to say why.
 */
function compare(b: Bench, cs: readonly Contender[], o: { runs?: number; warmup?: number } = {}): Measured[] {
  const perRound = Math.ceil((o.runs ?? RUNS) / ROUNDS);
  const times = cs.map((): number[] => []);
  const errors = cs.map((): string | undefined => undefined);
  for (let round = 0; round < ROUNDS; round++) {
    cs.forEach((c, i) => {
      if (c.skip !== undefined || errors[i] !== undefined) return;
      const json = join(b.work, "results", `${c.key}-${round}.json`);
      const args = ["hyperfine", "-N", "--style", "none", "--warmup", String(o.warmup ?? WARMUP), "--runs", String(perRound), "--export-json", json];
      if (c.prepare) args.push("--prepare", words(c.prepare));
      args.push("--command-name", c.label, words(c.cmd));
      const r = asUser(b, args);
      if (r.code === 0) {
        times[i]!.push(...timesFromHyperfine(readFileSync(json, "utf8")));
        return;
      }
      if (c.prepare) asUser(b, c.prepare);
      const again = asUser(b, c.cmd);
      errors[i] = again.code !== 0 ? why(again) : why(r);
      log(`${c.label}: failed: ${errors[i]}`);
    });
  }
  return cs.map((c, i): Measured => {
    if (c.skip !== undefined) return { na: c.skip };
    if (errors[i] !== undefined) return { error: errors[i]! };
    const timing = summarize(times[i]!);
    log(`${c.label}: ${formatTiming(timing)} over ${timing.runs} runs`);
    return { timing };
  });
}

function median(m: Measured | undefined): number | undefined {
  return m && "timing" in m ? m.timing.median : undefined;
}

function cell(m: Measured | undefined): string {
  if (!m) return "—";
  if ("timing" in m) return formatTiming(m.timing);
  if ("error" in m) return `failed: ${m.error}`;
  return `n/a: ${m.na}`;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
}

function ratioCell(r: number | undefined): string {
  return r === undefined ? "—" : formatRatio(r);
}

// ---------------------------------------------------------------- report

interface Report {
  header: string[];
  rows: string[][];
  notes: string[];
  breakdowns: string[];
}

const TABLE_HEADER = ["figure", "ctr median (min)", "podman median (min)", "ctr/podman", "floor median (min)", "ctr/floor", "target"];

function addTimedRow(
  rep: Report,
  figure: string,
  c: Measured | undefined,
  p: Measured | undefined,
  floor: Measured | undefined,
  bounds: Bound[] = [],
): void {
  const cp = ratio(median(c), median(p));
  const cf = ratio(median(c), median(floor));
  rep.rows.push([figure, cell(c), cell(p), ratioCell(cp), floor ? cell(floor) : "—", ratioCell(cf), bounds.length ? formatTarget(bounds) : "—"]);
}

/** The targets of the issue for a timed figure. */
function bounds(c: Measured | undefined, p: Measured | undefined, floor: Measured | undefined, vsPodman: number, vsFloor?: number): Bound[] {
  const out: Bound[] = [{ label: `≤ ${vsPodman}× podman`, max: vsPodman, ratio: ratio(median(c), median(p)) }];
  if (vsFloor !== undefined) out.push({ label: `≤ ${vsFloor}× floor`, max: vsFloor, ratio: ratio(median(c), median(floor)) });
  return out;
}

// ---------------------------------------------------------------- processes

interface Proc {
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
  cmdline: string;
  cwd: string;
  pidns: string;
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, "utf8");
      let cwd = "";
      try {
        cwd = readlinkSync(`/proc/${name}/cwd`);
      } catch {
        // Zombies have none.
      }
      out.push({
        pid: Number(name),
        ppid: Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0),
        uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1),
        comm: readFileSync(`/proc/${name}/comm`, "utf8").trim(),
        cmdline: readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").join(" ").trim(),
        cwd,
        pidns: readlinkSync(`/proc/${name}/ns/pid`),
      });
    } catch {
      // Gone while we looked.
    }
  }
  return out;
}

interface Helper extends Memory {
  pid: number;
  name: string;
}

/**
 * The helpers of container `id`: the user's processes in the host pid
 * namespace, started since `before`, that name the container (its id in the
 * command line or working directory, as ctr's shim, conmon and ctr's
 * slirp4netns do), name its init's host pid (slirp4netns's target), or
 * descend from one of those; plus what `extra` claims (podman's netns path
 * for its slirp4netns, rootlessport). The container's own processes are in
 * its pid namespace and never count; other tests running as the same user
 * do not name the container and are left out.
 */
function helpers(uid: number, before: Set<number>, id: string, extra: (p: Proc) => boolean = () => false): Helper[] {
  const hostNs = readlinkSync("/proc/self/ns/pid");
  const mine = processes().filter((p) => p.uid === uid && !before.has(p.pid));
  const named = new Set(mine.filter((p) => p.cmdline.includes(id)).map((p) => p.pid));
  const inits = new Set(mine.filter((p) => named.has(p.ppid) && p.pidns !== hostNs).map((p) => String(p.pid)));
  const host = mine.filter((p) => p.pidns === hostNs);
  const found = new Set<number>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of host) {
      if (found.has(p.pid)) continue;
      if (named.has(p.pid) || p.cwd.includes(id) || p.cmdline.split(" ").some((w) => inits.has(w)) || found.has(p.ppid) || extra(p)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  const out: Helper[] = [];
  for (const p of host.filter((x) => found.has(x.pid))) {
    try {
      const mem = parseSmapsRollup(readFileSync(`/proc/${p.pid}/smaps_rollup`, "utf8"));
      // comm is cut at 15 characters: ctr-shim-<hash> shows as ctr-shim-759b1d.
      const name = p.cmdline.startsWith("rootlessport") ? p.cmdline.split(" ")[0]! : p.comm.replace(/-[0-9a-f]{6,}$/, "");
      out.push({ pid: p.pid, name, ...mem });
    } catch {
      // A zombie has no smaps_rollup: it holds no memory either.
    }
  }
  return out;
}

function memoryCell(hs: Helper[] | string): string {
  if (typeof hs === "string") return hs;
  if (hs.length === 0) return "none found";
  const rss = hs.reduce((s, h) => s + h.rssKiB, 0);
  const pss = hs.reduce((s, h) => s + h.pssKiB, 0);
  const parts = hs.map((h) => `${h.name} ${formatKiB(h.rssKiB)} / ${formatKiB(h.pssKiB)}`).join(", ");
  return hs.length === 1 ? `${formatKiB(rss)} / ${formatKiB(pss)} (${hs[0]!.name})` : `${formatKiB(rss)} / ${formatKiB(pss)} (${parts})`;
}

function totalRss(hs: Helper[] | string): number | undefined {
  return typeof hs === "string" || hs.length === 0 ? undefined : hs.reduce((s, h) => s + h.rssKiB, 0);
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Starts an idle detached container and returns its helpers' memory; `engine` is ctr's argv or ["podman"]. */
async function idleHelpers(b: Bench, engine: string[], extra: string[]): Promise<Helper[] | string> {
  const before = new Set(processes().map((p) => p.pid));
  const r = asUser(b, [...engine, "run", "-d", ...extra, "alpine", "sleep", "1000"]);
  if (r.code !== 0) return `failed: ${why(r)}`;
  const id = r.stdout.trim().split("\n").at(-1)!;
  const podman = engine[0] === "podman";
  const netns = podman ? asUser(b, ["podman", "inspect", "--format", "{{.NetworkSettings.SandboxKey}}", id]).stdout.trim() : "";
  await sleep(1000);
  const hs = helpers(b.uid, before, id, (p) => (netns !== "" && p.cmdline.includes(netns)) || (podman && p.cmdline.startsWith("rootlessport")));
  asUser(b, [...engine, "rm", "-f", ...(podman ? ["-t", "0"] : []), id]);
  return hs;
}

// ---------------------------------------------------------------- throughput

/** Gbit/s both ways, or why not. */
type Throughput = { up: number; down: number } | { error: string };

/** Receiver's rate of one `iperf3 -c` run as the user, in Gbit/s. */
function iperfClient(b: Bench, port: number, reverse: boolean, seconds = IPERF_SECONDS): number | string {
  const r = asUser(b, ["iperf3", "-c", "127.0.0.1", "-p", String(port), "-t", String(seconds), "-J", ...(reverse ? ["-R"] : [])]);
  try {
    const doc = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
    if (doc.error) return doc.error;
    const bps = doc.end?.sum_received?.bits_per_second;
    return typeof bps === "number" ? bps / 1e9 : why(r);
  } catch {
    return why(r);
  }
}

/** Tries 1-second tests until the server behind `port` answers, for up to 15 s. */
async function iperfReady(b: Bench, port: number): Promise<string | undefined> {
  let last = "";
  for (let i = 0; i < 15; i++) {
    const r = iperfClient(b, port, false, 1);
    if (typeof r === "number") return undefined;
    last = r;
    await sleep(500);
  }
  return `no iperf3 server answered on 127.0.0.1:${port}: ${last}`;
}

/**
 * iperf3 between the host (the client, as the user) and `iperf3 -s` in a
 * container whose port 5201 is published on 127.0.0.1:`port`: host to
 * container (up), then container to host (`-R`, down).
 */
async function iperfContainer(b: Bench, engine: string[], port: number): Promise<Throughput> {
  const pulled = asUser(b, [...engine, "pull", "-q", IPERF_IMAGE]);
  if (pulled.code !== 0) return { error: `pull: ${why(pulled)}` };
  const started = asUser(b, [...engine, "run", "-d", "-p", `127.0.0.1:${port}:5201`, IPERF_IMAGE, "iperf3", "-s"]);
  if (started.code !== 0) return { error: `run: ${why(started)}` };
  const id = started.stdout.trim().split("\n").at(-1)!;
  try {
    const notReady = await iperfReady(b, port);
    if (notReady) return { error: notReady };
    const up = iperfClient(b, port, false);
    const down = iperfClient(b, port, true);
    if (typeof up === "string") return { error: up };
    if (typeof down === "string") return { error: down };
    return { up, down };
  } finally {
    asUser(b, [...engine, "rm", "-f", ...(engine[0] === "podman" ? ["-t", "0"] : []), id]);
  }
}

/** The floor: iperf3 server and client both on the host, over loopback. */
async function iperfHost(b: Bench, port: number): Promise<Throughput> {
  const rates: number[] = [];
  for (const reverse of [false, true]) {
    // -1: the server exits after one test, so nothing is left to stop.
    const server = asUserAsync(b, ["iperf3", "-s", "-1", "-p", String(port)]);
    await sleep(300);
    const r = iperfClient(b, port, reverse);
    await server;
    if (typeof r === "string") return { error: r };
    rates.push(r);
  }
  return { up: rates[0]!, down: rates[1]! };
}

/** The host's first IPv4 address other than loopback: containers reach it through their network's NAT. */
function hostAddress(): string | undefined {
  return run(["hostname", "-I"]).stdout.split(/\s+/).find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) && !a.startsWith("127."));
}

/**
 * iperf3 with the client in a container on the default network and the
 * server on the host at `addr`: container to host (up), then host to
 * container (`-R`, down). The connection goes out through the network's
 * NAT (slirp4netns for both engines), not through a published port.
 */
async function iperfOutbound(b: Bench, engine: string[], addr: string, port: number): Promise<Throughput> {
  const rates: number[] = [];
  for (const reverse of [false, true]) {
    // -1: one test, then exit; `timeout`: a client that never connects must not hang the bench.
    const server = asUserAsync(b, ["timeout", "60", "iperf3", "-s", "-1", "-B", addr, "-p", String(port)]);
    await sleep(300);
    const r = asUser(b, [...engine, "run", "--rm", IPERF_IMAGE, "iperf3", "-c", addr, "-p", String(port), "-t", String(IPERF_SECONDS), "-J", ...(reverse ? ["-R"] : [])]);
    await server;
    try {
      const doc = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
      const bps = doc.end?.sum_received?.bits_per_second;
      if (typeof bps !== "number") return { error: doc.error ?? why(r) };
      rates.push(bps / 1e9);
    } catch {
      return { error: why(r) };
    }
  }
  return { up: rates[0]!, down: rates[1]! };
}

function rateCell(t: Throughput | string, which: "up" | "down"): string {
  if (typeof t === "string") return t;
  return "error" in t ? `failed: ${t.error}` : `${t[which].toFixed(2)} Gbit/s`;
}

function rate(t: Throughput | string, which: "up" | "down"): number | undefined {
  return typeof t !== "string" && !("error" in t) ? t[which] : undefined;
}

// ---------------------------------------------------------------- setup

function userIds(): { uid: number; gid: number; home: string } {
  const r = run(["getent", "passwd", USER]);
  if (r.code !== 0) throw new BenchError(`user "${USER}" does not exist: run scripts/setup-host.sh as root`);
  const f = r.stdout.trim().split(":");
  return { uid: Number(f[2]), gid: Number(f[3]), home: f[5]! };
}

function setup(): Bench {
  if (process.getuid?.() !== 0) throw new BenchError("must run as root (it runs the timed commands as the user with runuser)");
  if (!existsSync(CTR_SOURCE)) throw new BenchError(`ctr binary "${CTR_SOURCE}" not found: run "npm run build", or set CTR_BIN`);
  const { uid, gid, home } = userIds();
  const work = mkdtempSync("/var/tmp/ctr-bench-");
  chmodSync(work, 0o755);
  mkdirSync(join(work, "bin"));
  const ctrBin = join(work, "bin", "ctr");
  copyFileSync(CTR_SOURCE, ctrBin);
  chmodSync(ctrBin, 0o755);
  for (const d of ["data", "run", "podman", "crun", "pull", "results", "trace"]) {
    mkdirSync(join(work, d), { recursive: true });
    chownSync(join(work, d), uid, gid);
  }
  chownSync(work, uid, gid);
  chmodSync(join(work, "run"), 0o700);
  const podmanStorageConf = join(work, "podman", "storage.conf");
  const podmanConf = join(work, "podman", "containers.conf");
  // Rootless podman takes its graph root and run root from XDG_DATA_HOME and
  // XDG_RUNTIME_DIR, which point into the work directory like ctr's store.
  // Debian's podman would pick vfs for a rootless user without a config.
  writeFileSync(podmanStorageConf, `# ctr bench: throw-away podman storage config\n[storage]\ndriver = "overlay"\n`);
  writeFileSync(
    podmanConf,
    `# ctr bench: throw-away podman engine config\n[engine]\ncgroup_manager = "cgroupfs"\nruntime = "crun"\nevents_logger = "file"\n`,
  );
  const env = [
    `HOME=${home}`, `USER=${USER}`, `LOGNAME=${USER}`, `PATH=${SYSTEM_PATH}`, "LANG=C.UTF-8",
    `XDG_DATA_HOME=${join(work, "data")}`, `XDG_RUNTIME_DIR=${join(work, "run")}`,
    `CONTAINERS_STORAGE_CONF=${podmanStorageConf}`, `CONTAINERS_CONF=${podmanConf}`,
  ];
  return { work, ctr: ctrBin, uid, gid, env, podmanStorageConf, podmanConf };
}

/** Stops what the bench started, kills podman's pause process, removes the work directory. */
function teardown(b: Bench): void {
  // system reset ends the network holders (and their slirp4netns) too, which
  // removing the containers alone would leave running.
  asUser(b, ctr(b, "system", "reset", "-f"));
  // Every podman container holds a lock in a segment shared by all of the
  // user's podman stores (/dev/shm/libpod_rootless_lock_UID, 2048 locks):
  // deleting the store without `podman rm` would leak them, and a few runs
  // later podman could create no container at all.
  log("removing podman's containers (frees their locks)");
  asUser(b, ["podman", "rm", "-a", "-f", "-t", "0"]);
  // Rootless podman keeps one pause process per user namespace; this one is
  // ours (its pid file is under our XDG_RUNTIME_DIR).
  const pauseFile = join(b.work, "run", "libpod", "tmp", "pause.pid");
  if (existsSync(pauseFile)) {
    const pid = Number(readFileSync(pauseFile, "utf8").trim());
    const p = processes().find((x) => x.pid === pid);
    if (p && p.uid === b.uid && p.comm === "catatonit") process.kill(pid, "SIGKILL");
  }
  if (process.env.CTR_BENCH_KEEP === "1") {
    log(`work directory left in ${b.work} (CTR_BENCH_KEEP=1)`);
    return;
  }
  log(`removing ${b.work}`);
  if (run(["rm", "-rf", b.work]).code !== 0) rmSync(b.work, { recursive: true, force: true });
}

/** The alpine image's single layer, as the registry serves it. */
async function layerDigest(repo: string, tag: string): Promise<string> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" },
  });
  if (!res.ok) throw new BenchError(`GET manifest ${repo}:${tag} from ${REGISTRY}: ${res.status}; run scripts/bench/run.sh, which seeds it`);
  const m = (await res.json()) as { layers: { digest: string; size: number }[] };
  if (m.layers.length !== 1) throw new BenchError(`${repo}:${tag} has ${m.layers.length} layers; the bench expects one`);
  return m.layers[0]!.digest;
}

/**
 * The floor for `run --rm`: rootless `crun run` of a bundle whose rootfs is
 * the alpine image's layer, unpacked as the user, with `crun spec --rootless`
 * (user, mount, pid, net, ipc, uts namespaces; no overlay, no image lookup).
 */
async function crunBundle(b: Bench): Promise<{ cmd: string[] } | { error: string }> {
  const bundle = join(b.work, "crun", "bundle");
  const digest = await layerDigest("library/alpine", "latest");
  const mk = asUser(b, ["sh", "-c", `mkdir -p '${bundle}/rootfs' && curl -sf http://${REGISTRY}/v2/library/alpine/blobs/${digest} | tar -xzf - -C '${bundle}/rootfs' && cd '${bundle}' && crun spec --rootless`]);
  if (mk.code !== 0) return { error: `preparing the crun bundle: ${why(mk)}` };
  const configPath = join(bundle, "config.json");
  const config = JSON.parse(readFileSync(configPath, "utf8"));
  config.process.args = ["true"];
  config.process.terminal = false;
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const cmd = ["crun", "--root", join(b.work, "crun", "state"), "run", "-b", bundle, "bench-floor"];
  const check = asUser(b, cmd);
  return check.code === 0 ? { cmd } : { error: `crun run: ${why(check)}` };
}

/** Verbs listed in `ctr --help`, and whether `ctr run` takes a flag. */
function ctrFeatures(b: Bench): { verbs: Set<string>; runFlags: string } {
  const help = asUser(b, ctr(b, "--help")).stdout;
  const verbs = new Set<string>();
  let inCommands = false;
  for (const line of help.split("\n")) {
    if (/^Commands:/.test(line)) inCommands = true;
    else if (inCommands && /^\S/.test(line)) inCommands = false;
    else if (inCommands) {
      const m = /^\s+([a-z-]+)/.exec(line);
      if (m) verbs.add(m[1]!);
    }
  }
  return { verbs, runFlags: asUser(b, ctr(b, "run", "--help")).stdout };
}

function machine(): string[] {
  const kernel = run(["uname", "-srm"]).stdout.trim();
  const model = cpus()[0]?.model ?? "unknown CPU";
  const version = (cmd: string[]) => run(cmd).stdout.trim().split("\n")[0] ?? "?";
  return [
    `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}`,
    `- Machine: ${kernel}, ${cpus().length} cores (${model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${run(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]).stdout.trim()}`,
    `- Tools: ${version(["podman", "--version"])}, ${version(["crun", "--version"])}, ${version(["conmon", "--version"])}, ${version(["hyperfine", "--version"])}`,
  ];
}

/** Processes of other users and sessions eating CPU: the numbers are only as good as the machine is quiet. */
function otherLoad(): string | undefined {
  const r = run(["ps", "-eo", "pcpu=,pid=,user=,args=", "--sort=-pcpu"]);
  const busy = r.stdout.split("\n").map((l) => l.trim()).filter((l) => l && Number(l.split(/\s+/)[0]) >= 20);
  if (!busy.length) return undefined;
  return busy.slice(0, 5).map((l) => {
    const [pcpu, pid, user, ...args] = l.split(/\s+/);
    return `${pcpu}% pid ${pid} (${user}) ${args.join(" ").slice(0, 80)}`;
  }).join("; ");
}

function loadavg(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

// ---------------------------------------------------------------- breakdowns

function straceRun(b: Bench, name: string, args: string[]): string {
  const out = join(b.work, "trace", `${name}.txt`);
  const trace = "trace=execve,clone,clone3,vfork,fork,unshare,openat,unlink,unlinkat,rmdir,mount,fsopen,fsmount,move_mount,pivot_root,exit_group";
  run(["strace", "-f", "-tt", "-s", "512", "-u", USER, "-o", out, "-e", trace, "env", "-i", ...b.env, ...ctr(b, ...args)], { cwd: b.work });
  return existsSync(out) ? readFileSync(out, "utf8") : "";
}

function runBreakdown(b: Bench, title: string, args: string[], version: Measured | undefined, total: Measured | undefined, floor?: Measured): string[] {
  const events = parseStrace(straceRun(b, title.replace(/\W+/g, "-"), args), "ctr", { store: join(b.work, "data", "ctr") });
  if (!events.length) return [`### ${title}`, "", "strace produced no timeline (is strace installed?)", ""];
  const lines = [
    `### Where \`ctr ${args.join(" ")}\` spends its time`,
    "",
    `One run under \`strace -f -tt\` (which slows every system call, so compare proportions): ctr's untraced median is ${median(total) !== undefined ? formatSeconds(median(total)!) : "?"}` +
      `, \`ctr --version\` (start of the compiled binary alone) ${median(version) !== undefined ? formatSeconds(median(version)!) : "?"}` +
      (floor && median(floor) !== undefined ? `, the crun floor ${formatSeconds(median(floor)!)}` : "") + ".",
    "",
    ...markdownTable(["span", "ms under strace"], runSpans(events).map((s) => [s.label, s.ms.toFixed(1)])),
    "",
    "<details><summary>timeline</summary>",
    "",
    ...formatTimeline(events),
    "",
    "</details>",
    "",
  ];
  return lines;
}

/** Untraced medians of the parts of `ctr run`, from the table and a few more timings. */
interface RunParts {
  version?: Measured;
  rm?: Measured;
  runDefault?: Measured;
  runNone?: Measured;
  floor?: Measured;
}

/**
 * The parts of a `ctr run` measured without strace: the compiled binary's
 * start and, within it, the Bun runtime's (a compiled hello world), `ctr rm`
 * (the monitor runs it for a detached --rm), the network (default minus
 * `--network none`), and a user namespace with the subordinate id maps
 * (newuidmap and newgidmap, setuid helpers, which ctr's shim runs for each
 * container, and removal again only for files of subordinate ids) against
 * one with only the user's own id (as the crun floor, whose
 * `spec --rootless` maps one id).
 */
function runParts(b: Bench, p: RunParts): string[] {
  const hello = helloWorld(b);
  const [bunStart, full, own] = compare(b, [
    { key: "hello", label: "Bun-compiled hello world", cmd: hello ? [hello] : [], skip: hello ? undefined : "could not compile it" },
    { key: "userns-maps", label: "unshare --user --map-root-user --map-auto true", cmd: ["unshare", "--user", "--map-root-user", "--map-auto", "true"] },
    { key: "userns-own", label: "unshare --user --map-root-user true", cmd: ["unshare", "--user", "--map-root-user", "true"] },
  ], { runs: FAST_RUNS });
  const delta = median(p.runDefault) !== undefined && median(p.runNone) !== undefined && p.runDefault !== p.runNone
    ? median(p.runDefault)! - median(p.runNone)!
    : undefined;
  const net = delta === undefined ? "—" : delta > 0 ? formatSeconds(delta) : `none measurable (${(delta * 1000).toFixed(1)} ms)`;
  return [
    "### The parts of `ctr run`, without strace",
    "",
    ...markdownTable(["part", "median (min)"], [
      ["start of the compiled binary alone: `ctr --version`", cell(p.version)],
      ["  of which the Bun runtime's own start: a hello world compiled the same way (`bun build --compile --minify --bytecode`)", cell(bunStart)],
      ["`ctr rm -f -v` of a created container (what the monitor runs after a detached `--rm` container, or after an attached one whose ctr was killed; an attached ctr removes the container itself)", cell(p.rm)],
      ["network: `run --rm` with the default network minus with `--network none`", net],
      ["user namespace with the subordinate id maps (newuidmap + newgidmap): `unshare --user --map-root-user --map-auto true`", cell(full)],
      ["user namespace with the user's own id only, as the crun floor: `unshare --user --map-root-user true`", cell(own)],
      ["the whole crun floor: `crun run` of a prepared bundle", cell(p.floor)],
    ]),
    "",
  ];
}

/** A hello world compiled as ctr is (the runtime's own start), or undefined if bun cannot build it. */
function helloWorld(b: Bench): string | undefined {
  const src = join(b.work, "bin", "hello.ts");
  const out = join(b.work, "bin", "hello");
  writeFileSync(src, `console.log("hello");\n`);
  const r = run([process.execPath, "build", "--compile", "--minify", "--bytecode", "--format=esm", src, "--outfile", out]);
  if (r.code !== 0) return undefined;
  chmodSync(out, 0o755);
  return out;
}

/** Median of three wall-clock runs of `cmd` as the user, in seconds; `prepare` runs before each, untimed. */
function wall(b: Bench, cmd: string[], prepare?: string[]): number | undefined {
  const t: number[] = [];
  for (let i = 0; i < 3; i++) {
    if (prepare) asUser(b, prepare);
    const start = performance.now();
    const r = asUser(b, cmd);
    if (r.code !== 0) return undefined;
    t.push((performance.now() - start) / 1000);
  }
  return t.sort((x, y) => x - y)[1];
}

/**
 * Where a pull's time goes: the parts of the floor on their own (fetch,
 * gunzip, untar), elapsed and CPU time of one run of each contender (CPU time
 * suffers less than elapsed time from other load on the machine), and
 * ctr's system calls by count.
 */
function pullBreakdown(b: Bench, contenders: readonly Contender[], blobUrl: string, wipe: (dir: string) => string[]): string[] {
  const scratch = join(b.work, "pull", "parts");
  const fetchOnly = wall(b, ["curl", "-sf", "-o", "/dev/null", blobUrl]);
  const gunzip = wall(b, ["sh", "-c", `curl -sf ${blobUrl} | gzip -dc >/dev/null`]);
  asUser(b, ["sh", "-c", `mkdir -p ${scratch} && curl -sf ${blobUrl} | gzip -dc > ${scratch}/layer.tar`]);
  const untar = wall(b, ["tar", "-xf", `${scratch}/layer.tar`, "-C", `${scratch}/x`], wipe(`${scratch}/x`));
  const files = asUser(b, ["sh", "-c", `tar -tf ${scratch}/layer.tar | wc -l`]).stdout.trim();
  const tarMiB = (Bun.file(`${scratch}/layer.tar`).size / 2 ** 20).toFixed(0);
  const fmt = (s: number | undefined) => (s === undefined ? "failed" : formatSeconds(s));

  const rows: string[][] = [];
  for (const c of contenders) {
    if (c.skip !== undefined) continue;
    if (c.prepare) asUser(b, c.prepare);
    // /usr/bin/time counts the children sh waits for: curl, tar and gzip.
    const r = asUser(b, ["/usr/bin/time", "-f", "TIME %e %U %S %M", ...c.cmd]);
    const tm = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
    rows.push(tm
      ? [c.label, `${tm[1]} s`, `${tm[2]} s`, `${tm[3]} s`, `${(Number(tm[4]) / 1024).toFixed(0)} MiB`]
      : [c.label, `failed: ${why(r)}`, "", "", ""]);
  }
  const ctrPull = contenders[0]!;
  if (ctrPull.prepare) asUser(b, ctrPull.prepare);
  const out = join(b.work, "trace", "pull-c.txt");
  run(["strace", "-f", "-c", "-S", "calls", "-u", USER, "-o", out, "env", "-i", ...b.env, ...ctrPull.cmd], { cwd: b.work });
  // Waits (futex, epoll, wait4) only say that threads were idle; the rest is the work.
  const summary = existsSync(out)
    ? readFileSync(out, "utf8").trim().split("\n").filter((l) => !/\s(futex|epoll_pwait2?|epoll_wait|wait4|nanosleep|clock_nanosleep|poll|ppoll)$/.test(l)).slice(0, 14)
    : [];
  return [
    "### Where `ctr pull` spends its time",
    "",
    `The layer: ${files} entries, ${tarMiB} MiB unpacked. Parts of the floor alone, as the user (median of 3): fetch the blob with curl to /dev/null ${fmt(fetchOnly)};` +
      ` fetch and gunzip to /dev/null ${fmt(gunzip)}; \`tar -xf\` of the uncompressed tar ${fmt(untar)}.`,
    "",
    "One run of each, under /usr/bin/time (CPU includes child processes: the floor is curl, gzip and tar working in parallel):",
    "",
    ...markdownTable(["command", "elapsed", "user CPU", "system CPU", "max RSS"], rows),
    "",
    "System calls of one `ctr pull` (`strace -f -c`, by count, without the waits: futex, epoll, wait4; time is in-kernel time under ptrace):",
    "",
    "```",
    ...summary,
    "```",
    "",
  ];
}

// ---------------------------------------------------------------- main

async function benchmark(b: Bench, rep: Report): Promise<void> {
  const started = Date.now();
  log(`work directory ${b.work}; ctr ${CTR_SOURCE}`);

  const ctrCheck = asUser(b, ctr(b, "run", "--rm", "alpine", "true"));
  if (ctrCheck.code !== 0) throw new BenchError(`ctr cannot run a container as ${USER}: ${why(ctrCheck)}`);
  const ctrVersion = asUser(b, ctr(b, "--version")).stdout.trim();

  const podmanCheck = asUser(b, ["podman", "run", "--rm", "alpine", "true"]);
  const podmanOk = podmanCheck.code === 0;
  const podmanWhy = podmanOk ? "" : `podman cannot run a container here: ${why(podmanCheck)}`;
  if (!podmanOk) log(podmanWhy);
  let podmanStore = "";
  if (podmanOk) {
    const info = JSON.parse(asUser(b, ["podman", "info", "--format", "json"]).stdout || "{}");
    podmanStore = `graph driver ${info.store?.graphDriverName} (native overlay diff: ${info.store?.graphStatus?.["Native Overlay Diff"]}), ` +
      `cgroup manager ${info.host?.cgroupManager}, runtime ${info.host?.ociRuntime?.name}, events ${info.host?.eventLogger}, ` +
      `network backend ${info.host?.networkBackend} (rootless default network: slirp4netns)`;
  }

  const floorBundle = await crunBundle(b);
  const { verbs, runFlags } = ctrFeatures(b);
  const has = (v: string) => verbs.has(v);
  const runHas = (flag: string) => new RegExp(`\\s${flag}\\b`).test(runFlags);

  rep.header.push(
    ...machine(),
    `- ctr: ${ctrVersion} (${CTR_SOURCE}); verbs: ${[...verbs].sort().join(", ")}`,
    `- Every command runs as \`${USER}\` under \`hyperfine -N\` (no shell): ${FAST_RUNS} runs for commands under a second, ${RUNS} for pulls, split into ${ROUNDS} rounds that ctr, podman and the floor take in turn, each round after ${WARMUP} warmup runs (1 for pulls); median and (min) computed from hyperfine's JSON exports. Load average at start: ${loadavg()}.`,
    `- podman: throw-away config for this run only, in the bench's work directory: \`CONTAINERS_STORAGE_CONF\` (driver overlay) and \`CONTAINERS_CONF\` (cgroup_manager cgroupfs, runtime crun, events_logger file); graph root and run root under the bench's \`XDG_DATA_HOME\`/\`XDG_RUNTIME_DIR\`, like ctr's store. ${podmanOk ? `podman info: ${podmanStore}.` : podmanWhy}`,
    `- Host setup for podman: scripts/bench/run.sh mounts each cgroup v1 controller the kernel lists but nothing mounted (on this VM: hugetlb, net_cls,net_prio, perf_event) under /sys/fs/cgroup, as systemd would; without them crun refuses every container.`,
    `- Floor for \`run\`: ${"cmd" in floorBundle ? "rootless `crun run` of a bundle with the same busybox rootfs as alpine, unpacked to a plain directory, from `crun spec --rootless` (user, mount, pid, net, ipc, uts namespaces)" : floorBundle.error}. Floor for \`pull\`: \`curl\` of the layer blob piped to \`tar -xzf\` into the same filesystem.`,
  );
  const other = otherLoad();
  if (other) rep.notes.push(`Other processes were busy when the bench started (${other}): the numbers are noisier than on a quiet machine.`);

  const fast = { runs: FAST_RUNS };
  const podSkip = podmanOk ? undefined : podmanWhy;
  /** The same arguments for ctr and for podman; `prepare` gets the engine's argv. */
  const pair = (key: string, args: string[], o: { prepare?: (engine: string[]) => string[] } = {}): Contender[] => [
    { key: `${key}-ctr`, label: `ctr ${args.join(" ")}`, cmd: ctr(b, ...args), prepare: o.prepare?.(ctr(b)) },
    { key: `${key}-podman`, label: `podman ${args.join(" ")}`, cmd: ["podman", ...args], prepare: o.prepare?.(["podman"]), skip: podSkip },
  ];

  // --version, images, ps -a on an empty list.
  const [version, versionP] = compare(b, pair("version", ["--version"]), fast);
  addTimedRow(rep, "`--version`", version, versionP, undefined);
  const [images, imagesP] = compare(b, pair("images", ["images"]), fast);
  addTimedRow(rep, "`images` (1 image)", images, imagesP, undefined);
  const [ps0, ps0P] = compare(b, pair("ps0", ["ps", "-a"]), fast);
  addTimedRow(rep, "`ps -a`, 0 containers", ps0, ps0P, undefined);

  // run --rm, default network and none, and the crun floor.
  const floorC: Contender = "cmd" in floorBundle
    ? { key: "run-floor", label: "crun run (floor)", cmd: floorBundle.cmd }
    : { key: "run-floor", label: "crun run (floor)", cmd: [], skip: floorBundle.error };
  const ctrNone = runHas("--network") ? ["--network", "none"] : [];
  const [runRm, runRmP, floorRun, runNoneP, runNoneC] = compare(b, [
    ...pair("run", ["run", "--rm", "alpine", "true"]),
    floorC,
    { key: "run-none-podman", label: "podman run --rm --network none alpine true", cmd: ["podman", "run", "--rm", "--network", "none", "alpine", "true"], skip: podSkip },
    { key: "run-none-ctr", label: "ctr run --rm --network none alpine true", cmd: ctr(b, "run", "--rm", ...ctrNone, "alpine", "true"), skip: ctrNone.length ? undefined : "same as the default" },
  ], fast);
  const runNone = ctrNone.length ? runNoneC : runRm;
  const runBounds = bounds(runRm, runRmP, floorRun, 0.3, 3);
  addTimedRow(rep, "`run --rm alpine true`", runRm, runRmP, floorRun, runBounds);
  const ctrDefaultNet = /--network <mode>.*?(\S+) \(default/.exec(runFlags)?.[1];
  rep.notes.push(
    `\`run --rm\`, default network: ctr's default is ${ctrDefaultNet ? `${ctrDefaultNet} (from \`ctr run --help\`)` : "a private network namespace with only `lo`"}; podman's rootless default is slirp4netns, started for each container.`,
  );
  const noneBounds = bounds(runNone, runNoneP, floorRun, 0.3, 3);
  addTimedRow(rep, "`run --rm --network none alpine true`", runNone, runNoneP, floorRun, noneBounds);
  if (!ctrNone.length) rep.notes.push("`--network none`: ctr has no `--network` flag yet; its column repeats its default run (a private network namespace with only `lo`, which is what `--network none` gives), against podman with `--network none`.");

  // run -d: each timed run starts from no containers. `; true`: an engine
  // that calls removing nothing an error must not stop the bench.
  const removeAll = (engine: string[]) => ["sh", "-c", `${words([...engine, "rm", "-f", "-a", ...(engine[0] === "podman" ? ["-t", "0"] : [])])} >/dev/null 2>&1; true`];
  const [runD, runDP] = compare(b, pair("rund", ["run", "-d", "alpine", "sleep", "1000"], { prepare: removeAll }), fast);
  asUser(b, removeAll(ctr(b)));
  if (podmanOk) asUser(b, removeAll(["podman"]));
  const runDBounds = bounds(runD, runDP, undefined, 0.3);
  addTimedRow(rep, "`run -d alpine sleep 1000`", runD, runDP, undefined, runDBounds);

  // exec into an idle detached container; podman is timed even before ctr has exec.
  const execPair = pair("exec", ["exec", "bench-exec", "true"]);
  if (!has("exec")) execPair[0] = { ...execPair[0]!, skip: "ctr has no `exec` yet" };
  if (has("exec")) asUser(b, ctr(b, "run", "-d", "--name", "bench-exec", "alpine", "sleep", "1000"));
  if (podmanOk) asUser(b, ["podman", "run", "-d", "--name", "bench-exec", "alpine", "sleep", "1000"]);
  const [execC, execP] = compare(b, execPair, fast);
  if (has("exec")) asUser(b, removeAll(ctr(b)));
  if (podmanOk) asUser(b, removeAll(["podman"]));
  const execBounds = bounds(execC, execP, undefined, 0.3);
  addTimedRow(rep, "`exec CONTAINER true`", execC, execP, undefined, execC && "timing" in execC ? execBounds : []);

  // rm of a created container: what `run --rm` ends with.
  const recreate = (engine: string[]) => [
    "sh", "-c",
    `${words([...engine, "rm", "-f", "bench-rm"])} >/dev/null 2>&1; ${words([...engine, "create", "--name", "bench-rm", "alpine", "true"])} >/dev/null`,
  ];
  const rmPair = pair("rm", ["rm", "-f", "-v", "bench-rm"], { prepare: recreate });
  if (!has("create")) rmPair[0] = { ...rmPair[0]!, skip: "ctr has no `create` yet" };
  const [rmC, rmP] = compare(b, rmPair, fast);
  addTimedRow(rep, "`rm -f -v` a created container", rmC, rmP, undefined);

  // Where a run's time goes, profiled now, while ctr's store holds what it
  // held for the timings above (no containers).
  const want = (bs: Bound[]) => ALWAYS_BREAKDOWN || missed(bs);
  const runWhy: string[] = [];
  if (want(runBounds) || want(noneBounds) || want(runDBounds)) {
    runWhy.push(...runParts(b, { version, rm: rmC, runDefault: runRm, runNone, floor: floorRun }));
  }
  // Traced with --network none where ctr has it: strace follows slirp4netns
  // too, and its slowed exit would swamp the rest (the table above has the
  // network's untraced cost).
  if (want(runBounds) || want(noneBounds)) {
    runWhy.push(...runBreakdown(b, "run --rm", ["run", "--rm", ...ctrNone, "alpine", "true"], version, ctrNone.length ? runNone : runRm, floorRun));
  }
  if (want(runDBounds)) {
    // `sleep 3`, not 1000: strace -f follows the detached shim and waits for it.
    runWhy.push(...runBreakdown(b, "run -d", ["run", "-d", ...ctrNone, "alpine", "sleep", "3"], version, runD));
    asUser(b, removeAll(ctr(b)));
  }

  // Memory of the per-container helpers of an idle detached container.
  log("measuring helper memory");
  const memC = await idleHelpers(b, ctr(b), []);
  const memP = podmanOk ? await idleHelpers(b, ["podman"], []) : `n/a: ${podmanWhy}`;
  const rssC = totalRss(memC);
  const memBounds: Bound[] = [{ label: "≤ 1 MiB RSS", max: 1, ratio: rssC === undefined ? undefined : rssC / 1024 }];
  rep.rows.push(["helpers' RSS / PSS, idle `run -d`", memoryCell(memC), memoryCell(memP), ratioCell(ratio(rssC, totalRss(memP))), "—", "—", formatTarget(memBounds)]);
  if (runHas("--network")) {
    const memCn = await idleHelpers(b, ctr(b), ["--network", "none"]);
    const memPn = podmanOk ? await idleHelpers(b, ["podman"], ["--network", "none"]) : `n/a: ${podmanWhy}`;
    const rssCn = totalRss(memCn);
    rep.rows.push([
      "helpers' RSS / PSS, idle `run -d --network none`", memoryCell(memCn), memoryCell(memPn), ratioCell(ratio(rssCn, totalRss(memPn))), "—", "—",
      formatTarget([{ label: "≤ 1 MiB RSS", max: 1, ratio: rssCn === undefined ? undefined : rssCn / 1024 }]),
    ]);
  }
  const publish = ["-p", "127.0.0.1:18080:80"];
  const memCp = runHas("--publish") ? await idleHelpers(b, ctr(b), publish) : "n/a: ctr has no `-p` yet";
  const memPp = podmanOk ? await idleHelpers(b, ["podman"], publish) : `n/a: ${podmanWhy}`;
  const rssCp = totalRss(memCp);
  const memPBounds: Bound[] = [{ label: "≤ 3 MiB RSS", max: 3, ratio: rssCp === undefined ? undefined : rssCp / 1024 }];
  rep.rows.push(["helpers' RSS / PSS, idle `run -d -p`", memoryCell(memCp), memoryCell(memPp), ratioCell(ratio(rssCp, totalRss(memPp))), "—", "—", formatTarget(memPBounds)]);
  rep.notes.push("Helpers: the user's processes outside the container's pid namespace that belong to it: the monitor (ctr's shim, podman's conmon), slirp4netns for the network, podman's rootlessport for `-p`. podman's per-user pause process (catatonit) is shared by all containers and not counted. RSS and PSS from /proc/PID/smaps_rollup after 1 s idle.");

  // pull into an empty store.
  const layer = await layerDigest(BENCH_REPO, BENCH_TAG);
  const blobUrl = `http://${REGISTRY}/v2/${BENCH_REPO}/blobs/${layer}`;
  const pullDir = join(b.work, "pull");
  // Each run starts from an empty directory. The last run's tree is moved
  // aside, not deleted: on ext4 without a journal (this VM's root), creating
  // inodes soon after deleting thousands scans the recently deleted ones
  // (recently_deleted() in the inode allocator), which made every pull 3-5×
  // slower than on a quiet disk. `sync` flushes the last run's writes so they
  // are not charged to the next one. The trash is deleted after the pulls.
  const trash = join(b.work, "trash");
  const wipe = (dir: string) => ["sh", "-c", `mkdir -p ${trash} && { [ ! -e ${dir} ] || mv ${dir} ${trash}/$(date +%s%N); } && mkdir -p ${dir} && sync`];
  const ctrPull = ctr(b, "--root", `${pullDir}/ctr/root`, "--runroot", `${pullDir}/ctr/run`, "pull", "-q", BENCH_IMAGE);
  const podmanPull = ["podman", "--root", `${pullDir}/podman/root`, "--runroot", `${pullDir}/podman/run`, "pull", "-q", BENCH_IMAGE];
  const pullContenders: Contender[] = [
    { key: "pull-ctr", label: "ctr pull", cmd: ctrPull, prepare: wipe(`${pullDir}/ctr`) },
    { key: "pull-podman", label: "podman pull", cmd: podmanPull, prepare: wipe(`${pullDir}/podman`), skip: podSkip },
    { key: "pull-floor", label: "curl | tar -xzf (floor)", cmd: ["sh", "-c", `curl -sf ${blobUrl} | tar -xzf - -C ${pullDir}/floor`], prepare: wipe(`${pullDir}/floor`) },
  ];
  const [pull, pullP, pullFloor] = compare(b, pullContenders, { warmup: 1 });
  const pullBounds = bounds(pull, pullP, pullFloor, 0.5, 1.2);
  const layerMB = ((await fetch(blobUrl, { method: "HEAD" })).headers.get("content-length") ?? "0");
  addTimedRow(rep, `\`pull\` ${BENCH_REPO}:${BENCH_TAG} (${(Number(layerMB) / 1e6).toFixed(1)} MB), empty store`, pull, pullP, pullFloor, pullBounds);
  // Profiled now, before the trash is deleted (see wipe).
  const pullWhy = ALWAYS_BREAKDOWN || missed(pullBounds) ? pullBreakdown(b, pullContenders, blobUrl, wipe) : [];
  // Root deletes the trash (files of subordinate ids included) while the
  // containers for `ps -a` are created, which is not timed.
  log("deleting the pulled trees in the background");
  const trashGone = Bun.spawn(["rm", "-rf", trash], { stdin: "ignore", stdout: "ignore", stderr: "inherit" }).exited;

  // ps -a with many containers.
  const maker = has("create") ? ["create", "alpine", "true"] : ["run", "alpine", "true"];
  log(`creating ${PS_CONTAINERS} containers each with \`ctr ${maker.join(" ")}\`${podmanOk ? " and `podman create alpine true`" : ""}`);
  const loop = (cmd: string[]) => ["sh", "-c", `i=0; while [ $i -lt ${PS_CONTAINERS} ]; do ${words(cmd)} >/dev/null || exit 1; i=$((i+1)); done`];
  const [madeC, madeP] = await Promise.all([
    asUserAsync(b, loop(ctr(b, ...maker))),
    podmanOk ? asUserAsync(b, loop(["podman", "create", "alpine", "true"])) : Promise.resolve({ code: 0, stdout: "", stderr: "" }),
  ]);
  await trashGone;
  const psPair = pair("psN", ["ps", "-a"]);
  if (madeC.code !== 0) psPair[0] = { ...psPair[0]!, skip: `creating containers failed: ${why(madeC)}` };
  if (madeP.code !== 0) psPair[1] = { ...psPair[1]!, skip: `creating containers failed: ${why(madeP)}` };
  const [psN, psNP] = compare(b, psPair, { warmup: 2 });
  addTimedRow(rep, `\`ps -a\`, ${PS_CONTAINERS} containers`, psN, psNP, undefined);
  const runManyPair = pair("run-many", ["run", "--rm", "alpine", "true"]);
  if (madeC.code !== 0) runManyPair[0] = { ...runManyPair[0]!, skip: psPair[0]!.skip };
  if (madeP.code !== 0) runManyPair[1] = { ...runManyPair[1]!, skip: psPair[1]!.skip };
  const [runMany, runManyP] = compare(b, runManyPair, fast);
  addTimedRow(rep, `\`run --rm alpine true\`, ${PS_CONTAINERS} containers in the store`, runMany, runManyP, undefined);
  rep.notes.push(`\`ps -a\` with ${PS_CONTAINERS}: ctr's containers come from \`ctr ${maker.join(" ")}\`${has("create") ? "" : " (ctr has no `create` yet), so they are exited"}; podman's from \`podman create alpine true\`.`);

  rep.rows.push(["`build`, cold and cached", `n/a: ${has("build") ? "the bench does not time `build` yet" : "ctr has no `build` yet"}`, "—", "—", "—", "—", "—"]);

  // Throughput through a published port (higher is better).
  log(`iperf3, ${IPERF_SECONDS} s each way`);
  const netC: Throughput | string = runHas("--publish") ? await iperfContainer(b, ctr(b), 18201) : "n/a: ctr has no `-p` yet";
  const netP: Throughput | string = podmanOk ? await iperfContainer(b, ["podman"], 18202) : `n/a: ${podmanWhy}`;
  const netF = await iperfHost(b, 18203);
  for (const [which, figure] of [["up", "iperf3 host → container via `-p` (higher is better)"], ["down", "iperf3 container → host via `-p` (`-R`)"]] as const) {
    rep.rows.push([figure, rateCell(netC, which), rateCell(netP, which), ratioCell(ratio(rate(netC, which), rate(netP, which))), rateCell(netF, which), ratioCell(ratio(rate(netC, which), rate(netF, which))), "—"]);
  }
  rep.notes.push(`iperf3: \`iperf3 -s\` in \`${BENCH_REPO}:${IPERF_TAG}\` published on 127.0.0.1, the host's iperf3 as the client, one ${IPERF_SECONDS} s TCP test each way, receiver's rate; the floor is client and server both on the host over loopback.`);
  // The container as the client, out through its network to the host.
  const addr = hostAddress();
  const outC: Throughput | string = addr ? await iperfOutbound(b, ctr(b), addr, 18204) : "n/a: the host has no IPv4 address but loopback";
  const outP: Throughput | string = !addr ? "n/a: the host has no IPv4 address but loopback" : podmanOk ? await iperfOutbound(b, ["podman"], addr, 18205) : `n/a: ${podmanWhy}`;
  for (const [which, figure] of [["up", "iperf3 container → host, container as the client (default network)"], ["down", "iperf3 host → container, container as the client (`-R`)"]] as const) {
    rep.rows.push([figure, rateCell(outC, which), rateCell(outP, which), ratioCell(ratio(rate(outC, which), rate(outP, which))), rateCell(netF, which), ratioCell(ratio(rate(outC, which), rate(netF, which))), "—"]);
  }
  if (addr) rep.notes.push(`iperf3, container as the client: \`run --rm ${BENCH_REPO}:${IPERF_TAG} iperf3 -c ${addr}\` (the host's address) against \`iperf3 -s\` on the host, through each engine's default rootless network (slirp4netns's NAT), no published port.`);

  // Where the time goes, for the targets ctr misses (the run breakdown was taken earlier).
  rep.breakdowns.push(...runWhy);
  if (pullWhy.length) rep.breakdowns.push(...pullWhy);
  if (want(memBounds) && typeof memC !== "string") rep.breakdowns.push(`### Helper memory\n\n${memC.map((h) => `- ${h.name} (pid ${h.pid}): RSS ${h.rssKiB} KiB, PSS ${h.pssKiB} KiB`).join("\n")}\n`);

  rep.header.push(`- Duration: ${((Date.now() - started) / 1000).toFixed(0)} s; load average at the end: ${loadavg()}.`);
}

function render(rep: Report): string {
  return [
    "## ctr vs podman",
    "",
    ...rep.header,
    "",
    ...markdownTable(TABLE_HEADER, rep.rows),
    "",
    ...rep.notes.map((n) => `- ${n}`),
    "",
    ...(rep.breakdowns.length ? ["## Where ctr misses a target", "", ...rep.breakdowns] : []),
  ].join("\n");
}

async function main(): Promise<number> {
  const b = setup();
  const rep: Report = { header: [], rows: [], notes: [], breakdowns: [] };
  const onSignal = () => {
    log("interrupted: cleaning up");
    teardown(b);
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await benchmark(b, rep);
  } finally {
    teardown(b);
  }
  const text = render(rep);
  console.log(text);
  if (process.env.CTR_BENCH_REPORT) writeFileSync(process.env.CTR_BENCH_REPORT, text + "\n");
  return 0;
}

if (import.meta.main) {
  try {
    process.exitCode = await main();
  } catch (e) {
    if (!(e instanceof BenchError)) throw e;
    console.error(`bench: error: ${e.message}`);
    process.exitCode = 1;
  }
}

/**
 * Turns `strace -f -tt` output of one ctr command into a timeline of the
 * steps that matter for where the time goes: each program started (execve),
 * new namespaces, the first mount and pivot_root of a process, ctr deleting
 * files after another process has ended (`--rm`), and each process's exit. Times are milliseconds since ctr's own execve, so a
 * wrapper such as `env` before it does not count.
 */

export interface TimelineEvent {
  /** Milliseconds since the execve of the first program named `start`. */
  readonly ms: number;
  readonly pid: number;
  /** What happened, e.g. `exec ctr-shim run`, `new namespaces (user, mount, …)`, `pivot_root`, `exit ctr-shim`. */
  readonly what: string;
}

const LINE = /^(\d+)\s+(\d\d):(\d\d):(\d\d\.\d+)\s+(.*)$/;
const MOUNT_CALLS = /^(mount|fsopen|fsmount|move_mount|mount_setattr|open_tree)\(/;

function seconds(h: string, m: string, s: string): number {
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

/** `execve("/x/ctr-shim-123", ["/x/ctr-shim-123", "run", …` → `ctr-shim run`; hashes after a dash are dropped. */
function describeExec(call: string): string {
  const path = /^execve\("([^"]*)"/.exec(call)?.[1] ?? "?";
  const args = /^execve\("[^"]*", \[((?:"(?:[^"\\]|\\.)*"(?:\.\.\.)?(?:, )?)*)/.exec(call)?.[1] ?? "";
  const argv = [...args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
  const name = basename(path).replace(/-[0-9a-f]{8,}$/, "");
  // The verb or first flag (`run`, `userns`, `-rf`), not paths or numbers.
  const first = argv[1] && /^-{0,2}[a-z][a-z-]*$/.test(argv[1]) ? ` ${argv[1]}` : "";
  return `${name}${first}`;
}

/** `CLONE_NEWNS|CLONE_NEWUSER|…` → `user, mount, …` in a fixed order. */
function namespaces(call: string): string | undefined {
  const order: [string, string][] = [
    ["CLONE_NEWUSER", "user"], ["CLONE_NEWNS", "mount"], ["CLONE_NEWPID", "pid"], ["CLONE_NEWNET", "net"],
    ["CLONE_NEWUTS", "uts"], ["CLONE_NEWIPC", "ipc"], ["CLONE_NEWCGROUP", "cgroup"],
  ];
  const found = order.filter(([flag]) => call.includes(flag)).map(([, n]) => n);
  return found.length ? found.join(", ") : undefined;
}

/**
 * Parses strace output. `start` is the basename of the program whose first
 * execve is time zero (the ctr binary); lines before it are ignored. With
 * `store` (ctr's data directory), the first `openat` under it by that
 * program is an event too: the end of the runtime's own start-up.
 */
export function parseStrace(text: string, start: string, opts: { store?: string } = {}): TimelineEvent[] {
  const events: { t: number; pid: number; what: string }[] = [];
  const names = new Map<number, string>();
  const pendingExec = new Map<number, { t: number; what: string }>();
  const mounted = new Set<number>();
  let t0: number | undefined;
  let startPid: number | undefined;
  let storeSeen = false;
  // Another process has exited since ctr last deleted a file.
  let exitSinceDelete = false;
  // A child that has not exec'd yet is still its parent's program.
  const inherit = (parent: number, call: string) => {
    const child = /\)\s+=\s+(\d+)\s*$/.exec(call)?.[1];
    // strace may print the child's execve before the parent's fork returns: keep that name.
    if (child && !call.includes("CLONE_THREAD") && names.has(parent) && !names.has(Number(child))) names.set(Number(child), names.get(parent)!);
  };
  for (const raw of text.split("\n")) {
    const m = LINE.exec(raw);
    if (!m) continue;
    const pid = Number(m[1]);
    const t = seconds(m[2]!, m[3]!, m[4]!);
    const call = m[5]!;
    const add = (what: string, at = t) => {
      if (t0 !== undefined) events.push({ t: at, pid, what });
    };
    if (call.startsWith("execve(")) {
      const what = describeExec(call);
      if (call.includes("<unfinished ...>")) {
        pendingExec.set(pid, { t, what });
        continue;
      }
      if (!/\)\s+=\s+0\s*$/.test(call)) continue;
      if (t0 === undefined && what.split(" ")[0] === start) [t0, startPid] = [t, pid];
      names.set(pid, what.split(" ")[0]!);
      add(`exec ${what}`);
    } else if (call.startsWith("<... execve resumed>")) {
      const p = pendingExec.get(pid);
      pendingExec.delete(pid);
      if (!p || !/\)\s+=\s+0\s*$/.test(call)) continue;
      if (t0 === undefined && p.what.split(" ")[0] === start) [t0, startPid] = [p.t, pid];
      names.set(pid, p.what.split(" ")[0]!);
      add(`exec ${p.what}`, p.t);
    } else if (/^(clone3?|unshare)\(/.test(call)) {
      const ns = namespaces(call);
      if (ns) add(`new namespaces (${ns})`);
      inherit(pid, call);
    } else if (/^(v?fork\(|<\.\.\. (clone3?|v?fork) resumed>)/.test(call)) {
      inherit(pid, call);
    } else if (MOUNT_CALLS.test(call)) {
      if (!mounted.has(pid)) {
        mounted.add(pid);
        add("first mount");
      }
    } else if (call.startsWith("openat(")) {
      const path = /^openat\([^,]+, "([^"]*)"/.exec(call)?.[1];
      if (!storeSeen && opts.store && pid === startPid && path?.startsWith(opts.store)) {
        storeSeen = true;
        add("ctr opens its store");
      }
    } else if (call.startsWith("pivot_root(")) {
      add("pivot_root");
    } else if (/^(unlink|unlinkat|rmdir)\(/.test(call)) {
      // ctr deleting files once a process (the container) has ended: `--rm`.
      if (pid === startPid && exitSinceDelete) add("ctr deletes files");
      if (pid === startPid) exitSinceDelete = false;
    } else if (call.startsWith("exit_group(")) {
      add(`exit ${names.get(pid) ?? `pid ${pid}`}`);
      if (pid !== startPid) exitSinceDelete = true;
    }
  }
  if (t0 === undefined) return [];
  const zero = t0;
  return events.sort((a, b) => a.t - b.t).map((e) => ({ ms: (e.t - zero) * 1000, pid: e.pid, what: e.what }));
}

/** Markdown table: time since ctr started, the step, and the time since the previous step. */
export function formatTimeline(events: readonly TimelineEvent[]): string[] {
  const lines = ["| at | pid | step | since previous |", "|---:|---:|---|---:|"];
  let prev = 0;
  for (const e of events) {
    lines.push(`| ${e.ms.toFixed(1)} ms | ${e.pid} | ${e.what} | ${(e.ms - prev).toFixed(1)} ms |`);
    prev = e.ms;
  }
  return lines;
}

/** Named spans between two events, for the summary under a timeline. */
export interface Span {
  readonly label: string;
  readonly ms: number;
}

/**
 * Spans that explain a `ctr run` timeline: ctr before the shim, the id maps
 * (newuidmap/newgidmap), rootfs and mounts up to pivot_root, the container
 * process, and ctr after the container exits. A span whose events are
 * missing is left out.
 */
export function runSpans(events: readonly TimelineEvent[]): Span[] {
  const spans: Span[] = [];
  const find = (pred: (e: TimelineEvent) => boolean, from = 0) => events.slice(from).find(pred);
  // parseStrace puts the start program's exec first.
  const ctrStart = events[0]?.what.startsWith("exec ") ? events[0] : undefined;
  const shim = find((e) => e.what.startsWith("exec ctr-shim run"));
  const store = find((e) => e.what === "ctr opens its store");
  if (ctrStart && store && shim) {
    spans.push({ label: "ctr: start of the compiled binary (runtime, modules, arguments) until it opens its store", ms: store.ms - ctrStart.ms });
    spans.push({ label: "ctr: image lookup, container record and bundle, until the shim is started", ms: shim.ms - store.ms });
  } else if (ctrStart && shim) {
    spans.push({ label: "ctr: start, image and store lookup, bundle, until the shim is started", ms: shim.ms - ctrStart.ms });
  }
  const shimPid = shim?.pid;
  let maps = 0;
  for (const e of events) {
    if (!/^exec new[ug]idmap/.test(e.what)) continue;
    const exit = events.find((x) => x.pid === e.pid && x.ms >= e.ms && x.what.startsWith("exit "));
    if (exit) maps += exit.ms - e.ms;
  }
  if (maps > 0) spans.push({ label: "newuidmap + newgidmap (setuid helpers writing the id maps), all calls", ms: maps });
  const pivot = find((e) => e.what === "pivot_root");
  const firstMount = pivot ? find((e) => e.what === "first mount" && e.pid === pivot.pid) : undefined;
  if (firstMount && pivot) spans.push({ label: "rootfs overlay and mounts, up to pivot_root", ms: pivot.ms - firstMount.ms });
  const initExec = pivot ? events.find((e) => e.pid === pivot.pid && e.ms > pivot.ms && e.what.startsWith("exec ")) : undefined;
  if (pivot && initExec) spans.push({ label: "after pivot_root until the container's command is exec'd", ms: initExec.ms - pivot.ms });
  const ctrExit = ctrStart ? events.find((e) => e.pid === ctrStart.pid && e.what.startsWith("exit ")) : undefined;
  // With --detach the container outlives ctr: its exit is no part of ctr's time.
  const initExit = initExec
    ? events.find((e) => e.pid === initExec.pid && e.ms >= initExec.ms && e.what.startsWith("exit ") && (!ctrExit || e.ms <= ctrExit.ms))
    : undefined;
  if (initExec && initExit) spans.push({ label: "the container's command itself", ms: initExit.ms - initExec.ms });
  const shimExit = shimPid ? events.find((e) => e.pid === shimPid && e.what.startsWith("exit ")) : undefined;
  // Removing the container's files (owned by subordinate ids) needs the id
  // maps again; whoever does it, the span is nested under that one.
  const cleanup = find((e) => e.what.startsWith("exec ctr-shim userns"));
  const cleanupExit = cleanup ? events.find((e) => e.pid === cleanup.pid && e.what.startsWith("exit ") && e.ms > cleanup.ms) : undefined;
  const cleanupSpan = cleanup && cleanupExit
    ? [{ label: "  of which `ctr-shim userns … rm -rf` (removing files owned by subordinate ids)", ms: cleanupExit.ms - cleanup.ms }]
    : [];
  // The shim may hand over to another program when the container is done
  // (`ctr rm` for --rm): that program's run is its own span.
  const handOver = initExit && shimPid ? events.find((e) => e.pid === shimPid && e.ms >= initExit.ms && e.what.startsWith("exec ")) : undefined;
  // Mostly the kernel: the last process of the namespaces exiting tears
  // down the mounts and the network namespace before the shim's wait returns.
  if (initExit && handOver) {
    spans.push({ label: `shim: from the container's exit until it execs \`${handOver.what.slice(5)}\` (namespace teardown, exit status)`, ms: handOver.ms - initExit.ms });
    if (shimExit) spans.push({ label: `\`${handOver.what.slice(5)}\` run by the shim (the compiled binary starting again, then its work)`, ms: shimExit.ms - handOver.ms }, ...cleanupSpan);
    if (shimExit && ctrExit) spans.push({ label: "ctr: from the shim's exit to its own", ms: ctrExit.ms - shimExit.ms });
  } else {
    // An attached `--rm`: ctr removes the container while the shim waits for its `done`.
    const removal = initExit ? events.find((e) => e.pid === ctrStart?.pid && e.what === "ctr deletes files" && e.ms >= initExit.ms) : undefined;
    if (initExit && shimExit && removal && removal.ms <= shimExit.ms) {
      spans.push({ label: "from the container's exit until ctr deletes its files (namespace teardown, exit status to ctr)", ms: removal.ms - initExit.ms });
      spans.push({ label: "ctr: removing the container (`--rm`), until the shim exits", ms: shimExit.ms - removal.ms }, ...cleanupSpan);
    } else if (initExit && shimExit) {
      spans.push({ label: "shim: from the container's exit to its own (namespace teardown, exit status)", ms: shimExit.ms - initExit.ms });
    } else if (initExec && shimExit && shimExit.ms >= initExec.ms) {
      spans.push({ label: "shim: from the container's exec to its own exit (detaching)", ms: shimExit.ms - initExec.ms });
    }
    if (shimExit && ctrExit) spans.push({ label: "ctr: from the shim's exit to its own (state, --rm cleanup)", ms: ctrExit.ms - shimExit.ms }, ...(removal ? [] : cleanupSpan));
  }
  if (ctrStart && ctrExit) spans.push({ label: "total under strace", ms: ctrExit.ms - ctrStart.ms });
  return spans;
}

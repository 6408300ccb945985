/**
 * The container lifecycle without a daemon: create, start, stop, kill,
 * restart, wait, rename, rm, inspect and ps, each container supervised by
 * its own monitor (the shim) that outlives the CLI.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { CTR_BIN, ctr, ctrOk, newStore, type TestStore } from "./helpers.ts";

let store: TestStore;

beforeAll(async () => {
  store = await newStore();
  await ctrOk(["pull", "alpine"], { store });
});

afterAll(async () => {
  // Nothing may outlive the tests: kill what is left, then remove the store.
  await ctr(["rm", "-f", "-a"], { store });
  await store.cleanup();
});

interface Inspect {
  Id: string;
  Name: string;
  RestartCount: number;
  State: { Status: string; Running: boolean; Pid: number; ConmonPid: number; ExitCode: number; StartedAt: string; FinishedAt: string };
  Config: { Cmd: string[]; Env: string[]; Labels: Record<string, string>; StopSignal: string };
  HostConfig: { AutoRemove: boolean; RestartPolicy: { Name: string; MaximumRetryCount: number } };
}

async function inspect(name: string): Promise<Inspect> {
  const r = await ctrOk(["inspect", name], { store });
  const docs = JSON.parse(r.stdout) as Inspect[];
  expect(docs).toHaveLength(1);
  return docs[0]!;
}

/** The process has ended (a zombie not yet reaped by whoever adopted it counts). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** Polls `probe` until it holds; fails the test after `limitMs` (a hang guard, not a timing assertion). */
async function eventually(probe: () => Promise<boolean>, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await Bun.sleep(100);
  }
}

// A shell that ends when it gets SIGUSR1 (as pid 1 it ignores signals it has no handler for).
const LOOP = "while :; do sleep 0.1; done";

describe("run -d", () => {
  test("the CLI exits at once, prints the id, and the container keeps running", async () => {
    const r = await ctr(["run", "-d", "--name", "bg", "alpine", "sh", "-c", `trap 'exit 0' USR1; ${LOOP}`], { store });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    const doc = await inspect("bg");
    expect(doc.Id).toBe(r.stdout.trim());
    expect(doc.Name).toBe("/bg");
    expect(doc.State.Running).toBe(true);
    expect(doc.State.Status).toBe("running");
    expect(existsSync(`/proc/${doc.State.Pid}`)).toBe(true);
    expect(Date.parse(doc.State.StartedAt)).toBeGreaterThan(0);
    await ctrOk(["kill", "-s", "USR1", "bg"], { store });
    const w = await ctrOk(["wait", "bg"], { store });
    expect(w.stdout).toBe("0\n");
  });

  test("ps lists a running container and ps -a an exited one", async () => {
    await ctrOk(["run", "-d", "--name", "listed", "alpine", "sh", "-c", LOOP], { store });
    await ctrOk(["run", "--name", "done-one", "alpine", "true"], { store });
    const running = await ctrOk(["ps", "--format", "{{.Names}}"], { store });
    expect(running.stdout.split("\n")).toContain("listed");
    expect(running.stdout.split("\n")).not.toContain("done-one");
    const all = await ctrOk(["ps", "-a", "--format", "{{.Names}} {{.Status}}"], { store });
    expect(all.stdout).toMatch(/^done-one Exited \(0\)/m);
    const quiet = await ctrOk(["ps", "-a", "-q", "--no-trunc"], { store });
    expect(quiet.stdout.trim().split("\n").every((l) => /^[0-9a-f]{64}$/.test(l))).toBe(true);
    const latest = await ctrOk(["ps", "-l", "--format", "{{.Names}}"], { store });
    expect(latest.stdout).toBe("done-one\n");
    const filtered = await ctrOk(["ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}"], { store });
    expect(filtered.stdout.split("\n")).toContain("done-one");
    expect(filtered.stdout.split("\n")).not.toContain("listed");
    const sized = await ctrOk(["ps", "-a", "-s", "--filter", "name=done-one"], { store });
    expect(sized.stdout.split("\n")[0]).toMatch(/NAMES\s+SIZE$/);
    expect(sized.stdout).toMatch(/done-one\s+[\d.]+k?B \(virtual [\d.]+[kM]B\)$/m);
    const table = await ctrOk(["ps"], { store });
    expect(table.stdout.split("\n")[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    await ctrOk(["rm", "-f", "listed", "done-one"], { store });
  });
});

describe("ps formats", () => {
  test("ps -n N lists the N last created; --format json is podman's document", async () => {
    await ctrOk(["create", "--name", "older", "alpine", "true"], { store });
    await ctrOk(["create", "--name", "newer", "--label", "k=v", "alpine", "sh", "-c", "echo a long command line here"], { store });
    expect((await ctrOk(["ps", "-n", "2", "--format", "{{.Names}}"], { store })).stdout).toBe("newer\nolder\n");
    const docs = JSON.parse((await ctrOk(["ps", "-n", "1", "--format", "json"], { store })).stdout);
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ Names: ["newer"], Command: ["sh", "-c", "echo a long command line here"], Labels: { k: "v" }, State: "created", Exited: false, AutoRemove: false });
    expect(docs[0].Id).toMatch(/^[0-9a-f]{64}$/);
    await ctrOk(["rm", "older", "newer"], { store });
  });
});

describe("stop and kill", () => {
  test("stop of a container that ignores SIGTERM takes the timeout and kills it", async () => {
    await ctrOk(["run", "-d", "--name", "stubborn", "alpine", "sh", "-c", `trap '' TERM; ${LOOP}`], { store });
    const r = await ctr(["stop", "-t", "1", "stubborn"], { store });
    expect(r).toMatchObject({ code: 0, stdout: "stubborn\n" });
    const doc = await inspect("stubborn");
    expect(doc.State.Running).toBe(false);
    expect(doc.State.ExitCode).toBe(137);
    expect(Date.parse(doc.State.FinishedAt)).toBeGreaterThan(0);
  });

  test("stop sends the stop signal first", async () => {
    await ctrOk(["run", "-d", "--name", "polite", "alpine", "sh", "-c", `trap 'exit 7' TERM; ${LOOP}`], { store });
    await ctrOk(["stop", "polite"], { store });
    expect((await inspect("polite")).State.ExitCode).toBe(7);
  });

  test("--stop-signal replaces SIGTERM", async () => {
    await ctrOk(["run", "-d", "--name", "usr2", "--stop-signal", "SIGUSR2", "alpine", "sh", "-c", `trap 'exit 12' USR2; ${LOOP}`], { store });
    expect((await inspect("usr2")).Config.StopSignal).toBe("SIGUSR2");
    await ctrOk(["stop", "usr2"], { store });
    expect((await inspect("usr2")).State.ExitCode).toBe(12);
  });

  test("kill -s delivers the signal; kill defaults to SIGKILL", async () => {
    await ctrOk(["run", "-d", "--name", "k1", "alpine", "sh", "-c", `trap 'exit 9' HUP; ${LOOP}`], { store });
    await ctrOk(["kill", "-s", "HUP", "k1"], { store });
    expect((await ctrOk(["wait", "k1"], { store })).stdout).toBe("9\n");
    await ctrOk(["run", "-d", "--name", "k2", "alpine", "sh", "-c", LOOP], { store });
    await ctrOk(["kill", "k2"], { store });
    expect((await ctrOk(["wait", "k2"], { store })).stdout).toBe("137\n");
  });

  test("kill of a container that is not running fails; stop and wait of one do nothing", async () => {
    await ctrOk(["create", "--name", "idle", "alpine", "true"], { store });
    expect(await ctr(["stop", "idle"], { store })).toMatchObject({ code: 0, stdout: "idle\n" });
    expect(await ctr(["wait", "idle"], { store, timeoutMs: 20_000 })).toMatchObject({ code: 0, stdout: "0\n", timedOut: false });
    const r = await ctr(["kill", "idle"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("not running");
  });
});

describe("create, start, restart", () => {
  test("create does not run; start -a runs attached and passes the exit code", async () => {
    const c = await ctrOk(["create", "--name", "later", "-e", "WHO=world", "alpine", "sh", "-c", 'echo "hello $WHO"; exit 4'], { store });
    expect(c.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    const before = await inspect("later");
    expect(before.State.Status).toBe("created");
    expect(before.Config.Cmd).toEqual(["sh", "-c", 'echo "hello $WHO"; exit 4']);
    expect(before.Config.Env).toContain("WHO=world");
    const r = await ctr(["start", "-a", "later"], { store });
    expect(r).toMatchObject({ code: 4, stdout: "hello world\n" });
    expect((await inspect("later")).State.ExitCode).toBe(4);
  });

  test("start without -a runs detached; wait prints the exit code", async () => {
    await ctrOk(["create", "--name", "bgstart", "alpine", "sh", "-c", "exit 5"], { store });
    const r = await ctrOk(["start", "bgstart"], { store });
    expect(r.stdout).toBe("bgstart\n");
    expect((await ctrOk(["wait", "bgstart"], { store })).stdout).toBe("5\n");
  });

  test("restart runs the container again", async () => {
    await ctrOk(["run", "-d", "--name", "again", "alpine", "sh", "-c", `echo started; trap 'exit 0' TERM; ${LOOP}`], { store });
    const first = await inspect("again");
    await ctrOk(["restart", "-t", "5", "again"], { store });
    const second = await inspect("again");
    expect(second.State.Running).toBe(true);
    expect(second.State.Pid).not.toBe(first.State.Pid);
    await eventually(async () => (await ctr(["logs", "again"], { store })).stdout === "started\nstarted\n");
    await ctrOk(["rm", "-f", "again"], { store });
  });

  test("--restart=on-failure:2 restarts exactly twice", async () => {
    await ctrOk(["run", "-d", "--name", "flaky", "--restart", "on-failure:2", "alpine", "sh", "-c", "echo run; exit 3"], { store });
    expect((await ctrOk(["wait", "flaky"], { store })).stdout).toBe("3\n");
    const doc = await inspect("flaky");
    expect(doc.RestartCount).toBe(2);
    expect(doc.HostConfig.RestartPolicy).toEqual({ Name: "on-failure", MaximumRetryCount: 2 });
    expect((await ctrOk(["logs", "flaky"], { store })).stdout).toBe("run\nrun\nrun\n");
  });

  test("--restart=always is not carried out after stop", async () => {
    await ctrOk(["run", "-d", "--name", "forever", "--restart", "always", "alpine", "sh", "-c", "sleep 0.2"], { store });
    await eventually(async () => (await inspect("forever")).RestartCount >= 1);
    await ctrOk(["stop", "-t", "1", "forever"], { store });
    const doc = await inspect("forever");
    expect(doc.State.Running).toBe(false);
    expect(["exited"]).toContain(doc.State.Status);
  });

  test("--rm with --restart is a clear error", async () => {
    const r = await ctr(["run", "--rm", "--restart", "always", "alpine", "true"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("--rm");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("--rm", () => {
  test("an attached run with --rm leaves no container", async () => {
    const r = await ctr(["run", "--rm", "--name", "gone", "alpine", "echo", "bye"], { store });
    expect(r).toMatchObject({ code: 0, stdout: "bye\n" });
    expect((await ctr(["inspect", "gone"], { store })).code).toBe(125);
  });

  test("a detached run with --rm is removed by its monitor once it exits", async () => {
    await ctrOk(["run", "-d", "--rm", "--name", "selfremove", "alpine", "sh", "-c", "sleep 0.3"], { store });
    await eventually(async () => (await ctr(["inspect", "--type", "container", "selfremove"], { store })).code !== 0);
  });
});

describe("rm, rename, inspect", () => {
  test("rm refuses a running container without -f", async () => {
    await ctrOk(["run", "-d", "--name", "busy", "alpine", "sh", "-c", LOOP], { store });
    const r = await ctr(["rm", "busy"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("running");
    const pid = (await inspect("busy")).State.Pid;
    await ctrOk(["rm", "-f", "-v", "busy"], { store });
    expect((await ctr(["inspect", "busy"], { store })).code).toBe(125);
    expect(gone(pid)).toBe(true);
  });

  test("rm of an unknown container exits 1", async () => {
    const r = await ctr(["rm", "no-such-container"], { store });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no-such-container");
  });

  test("rename changes the name; a taken name is refused", async () => {
    await ctrOk(["create", "--name", "old-name", "alpine", "true"], { store });
    await ctrOk(["create", "--name", "taken", "alpine", "true"], { store });
    await ctrOk(["rename", "old-name", "new-name"], { store });
    expect((await inspect("new-name")).Name).toBe("/new-name");
    expect((await ctr(["inspect", "--type", "container", "old-name"], { store })).code).toBe(125);
    const r = await ctr(["rename", "new-name", "taken"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('"taken" is already in use');
  });

  test("inspect -f renders a Go template", async () => {
    expect((await ctr(["run", "--name", "templ", "alpine", "sh", "-c", "exit 2"], { store })).code).toBe(2);
    const r = await ctrOk(["inspect", "-f", "{{.State.ExitCode}} {{.Name}}", "templ"], { store });
    expect(r.stdout).toBe("2 /templ\n");
  });

  test("inspect of an image name falls back to the image", async () => {
    const r = await ctrOk(["inspect", "alpine"], { store });
    const docs = JSON.parse(r.stdout) as { Id: string; RepoTags: string[] }[];
    expect(docs[0]!.RepoTags.join(" ")).toContain("alpine");
  });
});

describe("robustness", () => {
  test("after kill -9 of the monitor, ps reports the truth", async () => {
    await ctrOk(["run", "-d", "--name", "orphan", "alpine", "sh", "-c", LOOP], { store });
    const doc = await inspect("orphan");
    expect(doc.State.ConmonPid).toBeGreaterThan(0);
    process.kill(doc.State.ConmonPid, "SIGKILL");
    await eventually(async () => gone(doc.State.ConmonPid));
    // The container's process survives its monitor, and is still seen as running.
    const after = await inspect("orphan");
    expect(after.State.Running).toBe(true);
    await ctrOk(["stop", "-t", "0", "orphan"], { store });
    const stopped = await inspect("orphan");
    expect(stopped.State.Running).toBe(false);
    expect(gone(doc.State.Pid)).toBe(true);
  });

  test("SIGKILL of an attached ctr leaves the container running and supervised, not orphaned", async () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, ...store.env })) if (v !== undefined) env[k] = v;
    const cli = Bun.spawn([CTR_BIN, "run", "--name", "abandoned", "alpine", "sh", "-c", `echo started; ${LOOP}`], { env, stdout: "pipe", stderr: "pipe" });
    const reader = cli.stdout.getReader();
    let seen = "";
    while (!seen.includes("started")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    cli.kill("SIGKILL");
    await cli.exited;
    const doc = await inspect("abandoned");
    expect(doc.State.Running).toBe(true);
    // Its monitor still supervises it: the stop is recorded with the exit code.
    expect(existsSync(`/proc/${doc.State.ConmonPid}`)).toBe(true);
    await ctrOk(["stop", "-t", "0", "abandoned"], { store });
    const after = await inspect("abandoned");
    expect(after.State.ExitCode).toBe(137);
    await eventually(async () => gone(doc.State.ConmonPid));
    expect(gone(doc.State.Pid)).toBe(true);
  });

  test("20 containers created in parallel get distinct names and ids", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => ctr(["create", "alpine", "true"], { store, timeoutMs: 60_000 })));
    expect(results.map((r) => r.code)).toEqual(Array(20).fill(0));
    const ids = results.map((r) => r.stdout.trim());
    expect(new Set(ids).size).toBe(20);
    const names = await Promise.all(ids.map(async (id) => (await inspect(id)).Name));
    expect(new Set(names).size).toBe(20);
    await ctrOk(["rm", ...ids], { store, timeoutMs: 60_000 });
  });
});

describe("the monitor", () => {
  test("an idle container's monitor stays well under conmon's 2.3 MB of resident memory", async () => {
    await ctrOk(["run", "-d", "--name", "idle-monitor", "alpine", "sh", "-c", LOOP], { store });
    const status = readFileSync(`/proc/${(await inspect("idle-monitor")).State.ConmonPid}/status`, "utf8");
    const rssKb = Number(/VmRSS:\s*(\d+) kB/.exec(status)![1]);
    expect(rssKb).toBeGreaterThan(0);
    expect(rssKb).toBeLessThan(1024);
    await ctrOk(["rm", "-f", "idle-monitor"], { store });
  });
});

describe("top, pause, stats, prune", () => {
  test("top lists the container's processes, with ps options", async () => {
    await ctrOk(["run", "-d", "--name", "topped", "alpine", "sh", "-c", LOOP], { store });
    const r = await ctrOk(["top", "topped"], { store });
    expect(r.stdout.split("\n")[0]).toMatch(/^UID\s+PID\s+PPID/);
    expect(r.stdout).toContain("while :");
    const custom = await ctrOk(["top", "topped", "-o", "pid,comm"], { store });
    expect(custom.stdout.split("\n")[0]).toMatch(/^\s*PID\s+COMMAND$/);
    expect(custom.stdout).toContain("sh");
    await ctrOk(["rm", "-f", "topped"], { store });
  });

  test("pause stops every process (SIGSTOP, said in inspect) and unpause resumes them", async () => {
    await ctrOk(["run", "-d", "--name", "frozen", "alpine", "sh", "-c", LOOP], { store });
    await ctrOk(["pause", "frozen"], { store });
    const doc = JSON.parse((await ctrOk(["inspect", "frozen"], { store })).stdout)[0];
    expect(doc.State).toMatchObject({ Status: "paused", Paused: true, PauseMethod: "sigstop" });
    const stat = await Bun.file(`/proc/${doc.State.Pid}/stat`).text();
    expect(stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)).toBe("T");
    expect((await ctrOk(["ps", "--format", "{{.Names}} {{.Status}}"], { store })).stdout).toMatch(/^frozen Up .*\(Paused\)$/m);
    expect((await ctr(["pause", "frozen"], { store })).code).toBe(125);
    await ctrOk(["unpause", "frozen"], { store });
    const after = await Bun.file(`/proc/${doc.State.Pid}/stat`).text();
    expect(after.slice(after.lastIndexOf(")") + 2, after.lastIndexOf(")") + 3)).not.toBe("T");
    // A paused container still stops.
    await ctrOk(["pause", "frozen"], { store });
    await ctrOk(["kill", "frozen"], { store });
    expect((await ctrOk(["wait", "frozen"], { store })).stdout).toBe("137\n");
  });

  test("stats --no-stream shows one sample of each running container", async () => {
    await ctrOk(["run", "-d", "--name", "measured", "alpine", "sh", "-c", LOOP], { store });
    const r = await ctrOk(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}", "measured"], { store });
    expect(r.stdout).toMatch(/^measured [1-9]\d* [\d.]+[KMG]?i?B \/ /);
    // Streaming into a pipe whose reader has had enough ends quietly.
    const piped = Bun.spawnSync(["sh", "-c", `"${CTR_BIN}" stats measured | head -n 1`], { env: { ...process.env, ...store.env }, timeout: 30_000 });
    expect(piped.stdout.toString()).toMatch(/^CONTAINER ID/);
    expect(piped.stderr.toString()).toBe("");
    const table = await ctrOk(["stats", "--no-stream"], { store });
    expect(table.stdout.split("\n")[0]).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT/);
    await ctrOk(["rm", "-f", "measured"], { store });
  });

  test("container prune -f removes the stopped containers and keeps running ones", async () => {
    await ctrOk(["run", "-d", "--name", "keeper", "alpine", "sh", "-c", LOOP], { store });
    const done = (await ctrOk(["create", "--name", "prunable", "alpine", "true"], { store })).stdout.trim();
    const r = await ctrOk(["container", "prune", "-f"], { store });
    expect(r.stdout.split("\n")).toContain(done);
    expect((await ctr(["inspect", "--type", "container", "prunable"], { store })).code).toBe(125);
    expect(JSON.parse((await ctrOk(["inspect", "keeper"], { store })).stdout)[0].State.Running).toBe(true);
  });
});

describe("resource limits", () => {
  test("limits that need a cgroup are accepted with podman's warning and ignored", async () => {
    const r = await ctr(["run", "--rm", "--memory", "10m", "--cpus", "1.5", "--pids-limit", "10", "--cpu-shares", "100", "alpine", "echo", "ran"], { store });
    expect(r).toMatchObject({ code: 0, stdout: "ran\n" });
    expect(r.stderr.split("\n")).toContain("Resource limits are not supported and ignored on cgroups V1 rootless systems");
    await ctrOk(["create", "--name", "limited", "-m", "1g", "--memory-swap=-1", "alpine", "true"], { store });
    const doc = JSON.parse((await ctrOk(["inspect", "limited"], { store })).stdout)[0];
    // As podman reports them: not applied.
    expect(doc.HostConfig).toMatchObject({ Memory: 0, NanoCpus: 0, PidsLimit: 0 });
    await ctrOk(["rm", "limited"], { store });
  });

  test("a limit that does not parse is refused naming the value, and creates nothing", async () => {
    const before = (await ctrOk(["ps", "-a", "-q"], { store })).stdout;
    for (const [flag, value] of [["--memory", "lots"], ["--cpus", "abc"], ["--pids-limit", "x"]] as const) {
      const r = await ctr(["run", "--rm", flag, value, "alpine", "true"], { store });
      expect(r.code).toBe(125);
      expect(r.stderr).toContain(value);
    }
    expect((await ctrOk(["ps", "-a", "-q"], { store })).stdout).toBe(before);
  });
});

describe("how it ended", () => {
  test("inspect tells a container ctr killed from one that died of a signal by itself", async () => {
    await ctrOk(["run", "-d", "--name", "killed-by-ctr", "alpine", "sh", "-c", LOOP], { store });
    await ctrOk(["kill", "killed-by-ctr"], { store });
    await ctrOk(["wait", "killed-by-ctr"], { store });
    expect((await inspect("killed-by-ctr")).State).toMatchObject({ ExitCode: 137, StoppedByUser: true, OOMKilled: false });

    await ctrOk(["run", "-d", "--name", "died-alone", "alpine", "sh", "-c", LOOP], { store });
    // As the kernel's OOM killer (or anyone but ctr) would: SIGKILL from outside.
    process.kill((await inspect("died-alone")).State.Pid, "SIGKILL");
    expect((await ctrOk(["wait", "died-alone"], { store })).stdout).toBe("137\n");
    expect((await inspect("died-alone")).State).toMatchObject({ Status: "exited", ExitCode: 137, StoppedByUser: false });

    await ctrOk(["run", "-d", "--name", "stopped-politely", "alpine", "sh", "-c", `trap 'exit 0' TERM; ${LOOP}`], { store });
    await ctrOk(["stop", "stopped-politely"], { store });
    expect((await inspect("stopped-politely")).State).toMatchObject({ ExitCode: 0, StoppedByUser: true });
    await ctrOk(["rm", "killed-by-ctr", "died-alone", "stopped-politely"], { store });
  });

  test("after kill -9 of the monitor and then of the container, ps -a does not say Up", async () => {
    await ctrOk(["run", "-d", "--name", "both-gone", "alpine", "sh", "-c", LOOP], { store });
    const doc = await inspect("both-gone");
    process.kill(doc.State.ConmonPid, "SIGKILL");
    await eventually(async () => gone(doc.State.ConmonPid));
    process.kill(doc.State.Pid, "SIGKILL");
    await eventually(async () => gone(doc.State.Pid));
    const ps = await ctrOk(["ps", "-a", "--filter", "name=both-gone", "--format", "{{.Names}} {{.Status}}"], { store });
    expect(ps.stdout).toStartWith("both-gone Exited");
    expect((await ctrOk(["ps", "-q", "--filter", "name=both-gone"], { store })).stdout).toBe("");
    expect((await inspect("both-gone")).State.Running).toBe(false);
    await ctrOk(["rm", "both-gone"], { store });
  });
});

describe("names", () => {
  test("a name already in use is refused by create and run, naming it", async () => {
    await ctrOk(["create", "--name", "dup", "alpine", "true"], { store });
    for (const verb of ["create", "run"]) {
      const r = await ctr([verb, "--name", "dup", "alpine", "true"], { store });
      expect(r.code).toBe(125);
      expect(r.stderr).toContain('"dup" is already in use');
      expect(r.stderr.trim().split("\n").filter((l) => l.startsWith("Error"))).toHaveLength(1);
    }
    expect((await ctrOk(["ps", "-a", "--filter", "name=^dup$", "-q"], { store })).stdout.trim().split("\n")).toHaveLength(1);
    await ctrOk(["rm", "dup"], { store });
  });
});

/**
 * Processes left of the containers `ids`: monitors and helpers (their
 * command line or working directory names the container) and anything
 * still in one of `pidNamespaces` (theirs). Zombies have ended and are not
 * counted.
 */
function leftovers(ids: string[], pidNamespaces: Set<string>): string[] {
  const ours = (text: string) => text.includes(store.root) && ids.some((id) => text.includes(id));
  const found: string[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " ");
      let cwd = "";
      let ns = "";
      try {
        cwd = readlinkSync(`/proc/${name}/cwd`);
        ns = readlinkSync(`/proc/${name}/ns/pid`);
      } catch {
        // not ours to look into
      }
      if (ours(cmdline) || ours(cwd) || pidNamespaces.has(ns)) found.push(`${name} ${cmdline}`);
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

/** The pid namespace of each running container, to look for what is left of them later. */
async function pidNamespacesOf(names: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const n of names) {
    const pid = (await inspect(n)).State.Pid;
    try {
      if (pid > 0) out.add(readlinkSync(`/proc/${pid}/ns/pid`));
    } catch {
      // it has ended
    }
  }
  return out;
}

function storeEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...store.env })) if (v !== undefined) env[k] = v;
  return env;
}

/** `ps -a` of these containers: name and status. */
async function statuses(names: string[]): Promise<Map<string, string>> {
  const r = await ctrOk(["ps", "-a", "--format", "{{.Names}}\t{{.Status}}"], { store });
  const all = new Map(r.stdout.trim().split("\n").map((l) => l.split("\t") as [string, string]));
  return new Map(names.map((n) => [n, all.get(n) ?? "missing"]));
}

describe("SIGKILL of the CLI while it works", () => {
  // Kill points: before anything, during create, around the monitor's start, after it.
  const DELAYS = [0, 20, 60, 150, 400, 1000];

  test("run -d: every container is created, running or exited, stops cleanly, and rm leaves nothing", async () => {
    const names = DELAYS.map((d) => `killed-run-d-${d}`);
    for (const [i, delay] of DELAYS.entries()) {
      const cli = Bun.spawn([CTR_BIN, "run", "-d", "--name", names[i]!, "alpine", "sh", "-c", LOOP], { env: storeEnv(), stdout: "ignore", stderr: "ignore" });
      await Bun.sleep(delay);
      cli.kill("SIGKILL");
      await cli.exited;
    }
    const seen = await statuses(names);
    for (const [name, status] of seen) expect(`${name} ${status}`).toMatch(/ (Created|Up .*|Exited \(\d+\).*|missing)$/);
    const present = names.filter((n) => seen.get(n) !== "missing");
    const ids = await Promise.all(present.map(async (n) => (await inspect(n)).Id));
    const namespaces = await pidNamespacesOf(present.filter((n) => seen.get(n)!.startsWith("Up")));
    for (const n of present.filter((n) => seen.get(n)!.startsWith("Up"))) {
      await ctrOk(["stop", "-t", "0", n], { store });
      expect((await inspect(n)).State).toMatchObject({ Running: false, ExitCode: 137 });
    }
    if (present.length > 0) await ctrOk(["rm", "-f", ...present], { store });
    await eventually(async () => leftovers(ids, namespaces).length === 0).catch(() => expect(leftovers(ids, namespaces)).toEqual([]));
  }, 120_000);

  test("run -it: the container runs on under its monitor, and stops with its exit recorded", async () => {
    const names = DELAYS.map((d) => `killed-run-it-${d}`);
    for (const [i, delay] of DELAYS.entries()) {
      const cli = Bun.spawn([CTR_BIN, "run", "-it", "--name", names[i]!, "alpine", "sh"], { env: storeEnv(), stdin: "pipe", stdout: "ignore", stderr: "ignore" });
      // The last one is killed only once its container runs (a fixed delay is
      // not "surely started" on a loaded machine); the others at fixed points.
      if (i === DELAYS.length - 1) await eventually(async () => (await statuses([names[i]!])).get(names[i]!)!.startsWith("Up"));
      else await Bun.sleep(delay);
      cli.kill("SIGKILL");
      await cli.exited;
    }
    const seen = await statuses(names);
    for (const [name, status] of seen) expect(`${name} ${status}`).toMatch(/ (Created|Up .*|missing)$/);
    const up = names.filter((n) => seen.get(n)!.startsWith("Up"));
    // The last one was running before the kill: it must still be.
    expect(up).toContain(names.at(-1)!);
    const ids = await Promise.all(names.filter((n) => seen.get(n) !== "missing").map(async (n) => (await inspect(n)).Id));
    const namespaces = await pidNamespacesOf(up);
    for (const n of up) {
      await ctrOk(["stop", "-t", "1", n], { store });
      expect((await inspect(n)).State.Running).toBe(false);
      expect((await statuses([n])).get(n)).toMatch(/^Exited \(\d+\)/);
    }
    await ctrOk(["rm", "-f", ...names.filter((n) => seen.get(n) !== "missing")], { store });
    await eventually(async () => leftovers(ids, namespaces).length === 0).catch(() => expect(leftovers(ids, namespaces)).toEqual([]));
  }, 120_000);

  test("exec: the process runs to its end under its own monitor, which then goes too", async () => {
    const id = (await ctrOk(["run", "-d", "--name", "exec-target", "alpine", "sh", "-c", LOOP], { store })).stdout.trim();
    for (const delay of DELAYS) {
      const cli = Bun.spawn([CTR_BIN, "exec", "exec-target", "sh", "-c", `sleep 1; echo done > /tmp/exec-${delay}`], { env: storeEnv(), stdout: "ignore", stderr: "ignore" });
      await Bun.sleep(delay);
      cli.kill("SIGKILL");
      await cli.exited;
    }
    // Those that were started finish; the last one surely was.
    await eventually(async () => (await ctr(["exec", "exec-target", "cat", `/tmp/exec-${DELAYS.at(-1)}`], { store })).stdout === "done\n");
    // No exec monitor of this store outlives its process.
    await eventually(async () => leftovers([id], new Set()).every((p) => !/ctr-shim\S* exec /.test(p)));
    const top = await ctrOk(["top", "exec-target", "-o", "args"], { store });
    expect(top.stdout).not.toContain("sleep 1");
    const namespaces = await pidNamespacesOf(["exec-target"]);
    await ctrOk(["rm", "-f", "exec-target"], { store });
    await eventually(async () => leftovers([id], namespaces).length === 0).catch(() => expect(leftovers([id], namespaces)).toEqual([]));
  }, 120_000);

  test("20 containers started in parallel (run -d) get distinct names and ids and run", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => ctr(["run", "-d", "alpine", "sh", "-c", LOOP], { store, timeoutMs: 120_000 })));
    expect(results.map((r) => `${r.code} ${r.stderr}`)).toEqual(Array(20).fill("0 "));
    const ids = results.map((r) => r.stdout.trim());
    expect(new Set(ids).size).toBe(20);
    const docs = await Promise.all(ids.map((id) => inspect(id)));
    expect(new Set(docs.map((d) => d.Name)).size).toBe(20);
    expect(docs.every((d) => d.State.Running)).toBe(true);
    expect(new Set(docs.map((d) => d.State.Pid)).size).toBe(20);
    const namespaces = await pidNamespacesOf(ids);
    expect(namespaces.size).toBe(20);
    await ctrOk(["rm", "-f", ...ids], { store, timeoutMs: 120_000 });
    await eventually(async () => leftovers(ids, namespaces).length === 0).catch(() => expect(leftovers(ids, namespaces)).toEqual([]));
    expect((await ctrOk(["ps", "-a", "-q"], { store })).stdout.split("\n").filter((id) => ids.some((full) => full.startsWith(id)) && id !== "")).toEqual([]);
  }, 180_000);
});


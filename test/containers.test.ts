/**
 * The container lifecycle without a daemon: create, start, stop, kill,
 * restart, wait, rename, rm, inspect and ps, each container supervised by
 * its own monitor (the shim) that outlives the CLI.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
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

  test("kill of a container that is not running fails", async () => {
    await ctrOk(["create", "--name", "idle", "alpine", "true"], { store });
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

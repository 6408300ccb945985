/**
 * `ctr logs`: the monitor writes the container's output to a log file with
 * timestamps and stream tags; logs reads it, filters it and follows it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CTR_BIN, ctr, ctrOk, newStore, type TestStore } from "./helpers.ts";

let store: TestStore;

beforeAll(async () => {
  store = await newStore();
  await ctrOk(["pull", "alpine"], { store });
});

afterAll(async () => {
  await ctr(["rm", "-f", "-a"], { store });
  await store.cleanup();
});

describe("ctr logs", () => {
  test("shows a detached container's stdout and stderr on the matching streams", async () => {
    await ctrOk(["run", "-d", "--name", "both", "alpine", "sh", "-c", "echo out1; echo err1 >&2; echo out2"], { store });
    await ctrOk(["wait", "both"], { store });
    const r = await ctrOk(["logs", "both"], { store });
    expect(r.stdout).toBe("out1\nout2\n");
    expect(r.stderr).toBe("err1\n");
  });

  test("an attached run is logged too, and its output still reaches the caller", async () => {
    const run = await ctr(["run", "--name", "attached", "alpine", "sh", "-c", "echo seen; echo warned >&2"], { store });
    expect(run).toMatchObject({ code: 0, stdout: "seen\n", stderr: "warned\n" });
    const r = await ctrOk(["logs", "attached"], { store });
    expect(r.stdout).toBe("seen\n");
    expect(r.stderr).toBe("warned\n");
  });

  test("-t prefixes RFC 3339 timestamps; --tail keeps the last lines", async () => {
    await ctrOk(["run", "--name", "counted", "alpine", "sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done"], { store });
    const tail = await ctrOk(["logs", "--tail", "2", "counted"], { store });
    expect(tail.stdout).toBe("line4\nline5\n");
    const stamped = await ctrOk(["logs", "-t", "-n", "1", "counted"], { store });
    expect(stamped.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line5\n$/);
    expect((await ctrOk(["logs", "--tail", "0", "counted"], { store })).stdout).toBe("");
  });

  test("--since and --until select by time", async () => {
    await ctrOk(["run", "--name", "timed", "alpine", "echo", "then"], { store });
    expect((await ctrOk(["logs", "--since", "2099-01-01T00:00:00Z", "timed"], { store })).stdout).toBe("");
    expect((await ctrOk(["logs", "--until", "2000-01-01T00:00:00Z", "timed"], { store })).stdout).toBe("");
    expect((await ctrOk(["logs", "--since", "1h", "timed"], { store })).stdout).toBe("then\n");
    const bad = await ctr(["logs", "--since", "yesterday-ish", "timed"], { store });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("yesterday-ish");
  });

  test("a line without a final newline is shown as it was written", async () => {
    await ctrOk(["run", "--name", "partial", "alpine", "printf", "no newline"], { store });
    expect((await ctrOk(["logs", "partial"], { store })).stdout).toBe("no newline");
  });

  test("-f follows live output until the container exits", async () => {
    await ctrOk(["run", "-d", "--name", "live", "alpine", "sh", "-c", `echo one; trap 'echo two; exit 0' USR1; while :; do sleep 0.1; done`], { store });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, ...store.env })) if (v !== undefined) env[k] = v;
    const follower = Bun.spawn([CTR_BIN, "logs", "-f", "live"], { env, stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => follower.kill("SIGKILL"), 30_000);
    const reader = follower.stdout.getReader();
    const decoder = new TextDecoder();
    let seen = "";
    while (!seen.includes("one\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value);
    }
    expect(seen).toBe("one\n");
    // Only now does the container print its second line: logs -f must pick it up and then end.
    await ctrOk(["kill", "-s", "USR1", "live"], { store });
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value);
    }
    clearTimeout(timer);
    expect(await follower.exited).toBe(0);
    expect(seen).toBe("one\ntwo\n");
  });

  test("-f follows across the restarts of a restart policy, to the last run's end", async () => {
    await ctrOk(["run", "-d", "--name", "restarted", "--restart", "on-failure:2", "alpine", "sh", "-c", "echo run-$(cat /proc/uptime | tr -d ' .'); sleep 0.3; exit 1"], { store });
    const follower = Bun.spawn([CTR_BIN, "logs", "-f", "restarted"], { env: storeEnv(), stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => follower.kill("SIGKILL"), 60_000);
    const out = await new Response(follower.stdout).text();
    clearTimeout(timer);
    expect(await follower.exited).toBe(0);
    // Three runs, each line once, and -f ended only when the last run had.
    expect(out.split("\n").filter(Boolean).map((l) => l.replace(/\d+$/, ""))).toEqual(["run-", "run-", "run-"]);
    expect(new Set(out.split("\n").filter(Boolean)).size).toBe(3);
    expect((await ctrOk(["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "restarted"], { store })).stdout).toBe("2 exited\n");
  }, 60_000);

  test("--since and --until cut between two lines at their logged times", async () => {
    await ctrOk(["run", "--name", "two-times", "alpine", "sh", "-c", "echo early; sleep 1.2; echo late"], { store });
    const stamped = (await ctrOk(["logs", "-t", "two-times"], { store })).stdout.trim().split("\n");
    const [early, late] = stamped.map((l) => l.split(" ")[0]!);
    expect(stamped.map((l) => l.split(" ")[1])).toEqual(["early", "late"]);
    // A moment between the two, in RFC 3339 and in unix seconds.
    const between = new Date((Date.parse(early!) + Date.parse(late!)) / 2);
    expect((await ctrOk(["logs", "--since", between.toISOString(), "two-times"], { store })).stdout).toBe("late\n");
    expect((await ctrOk(["logs", "--until", between.toISOString(), "two-times"], { store })).stdout).toBe("early\n");
    expect((await ctrOk(["logs", "--since", String(between.getTime() / 1000), "two-times"], { store })).stdout).toBe("late\n");
    expect((await ctrOk(["logs", "--since", early!, "--until", early!, "two-times"], { store })).stdout).toBe("early\n");
  });

  test("logs of an unknown container is a one-line error", async () => {
    const r = await ctr(["logs", "nope"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr.trim()).toBe("Error: no such container: nope");
  });
});

function storeEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...store.env })) if (v !== undefined) env[k] = v;
  return env;
}

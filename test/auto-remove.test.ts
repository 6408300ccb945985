/**
 * `--rm`: whoever is still there when the container ends removes it, and
 * nothing of it stays in the store: the attached CLI itself, else (CLI
 * killed, or a detached run) the container's monitor.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
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

async function eventually(probe: () => boolean | Promise<boolean>, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await Bun.sleep(100);
  }
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** What the store still holds of containers: their directories, name links and live state. */
function leftovers(): string[] {
  return [
    ...entries(join(store.dataDir, "containers")).map((e) => `containers/${e}`),
    ...entries(join(store.dataDir, "container-names")).map((e) => `container-names/${e}`),
    ...entries(join(store.runtimeDir, "ctr", "containers")).map((e) => `run/containers/${e}`),
  ];
}

// Ends on SIGUSR1 (as pid 1 a shell ignores signals it has no handler for).
const WAIT_FOR_USR1 = "trap 'exit 3' USR1; while :; do sleep 0.1; done";

describe("run --rm", () => {
  test("an attached run leaves no record, name or files, and keeps the container's exit status", async () => {
    const r = await ctr(["run", "--rm", "--name", "attached-rm", "alpine", "sh", "-c", "echo bye; touch /tmp/x; exit 7"], { store });
    expect(r).toMatchObject({ code: 7, stdout: "bye\n" });
    expect(leftovers()).toEqual([]);
    // The name is free again.
    await ctrOk(["run", "--rm", "--name", "attached-rm", "alpine", "true"], { store });
    expect(leftovers()).toEqual([]);
  });

  test("files a non-root user wrote in the container are removed too", async () => {
    const r = await ctr(["run", "--rm", "--user", "1000:1000", "alpine", "sh", "-c", "mkdir /tmp/d && touch /tmp/d/f && chmod 500 /tmp/d"], { store });
    expect(r.code).toBe(0);
    expect(leftovers()).toEqual([]);
  });

  test("a detached run is removed by its monitor once it exits", async () => {
    await ctrOk(["run", "-d", "--rm", "--name", "detached-rm", "alpine", "sh", "-c", WAIT_FOR_USR1], { store });
    expect(lstatSync(join(store.dataDir, "container-names", "detached-rm")).isSymbolicLink()).toBe(true);
    await ctrOk(["kill", "-s", "USR1", "detached-rm"], { store });
    await eventually(() => leftovers().length === 0);
  }, 30_000);

  test("an attached run whose CLI is killed with SIGKILL is removed by the monitor when the container ends", async () => {
    const cli = Bun.spawn([CTR_BIN, "run", "--rm", "--name", "orphan-rm", "alpine", "sh", "-c", WAIT_FOR_USR1], {
      env: { ...process.env, ...store.env },
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
    });
    await eventually(async () => {
      const r = await ctr(["inspect", "--format", "{{.State.Status}}", "orphan-rm"], { store });
      return r.stdout.trim() === "running";
    });
    cli.kill("SIGKILL");
    await cli.exited;
    // The container outlives its CLI.
    expect((await ctrOk(["inspect", "--format", "{{.State.Status}}", "orphan-rm"], { store })).stdout.trim()).toBe("running");
    await ctrOk(["kill", "-s", "USR1", "orphan-rm"], { store });
    await eventually(() => leftovers().length === 0);
  }, 30_000);
});

/**
 * Command-line parsing end to end: the spellings docker's and podman's users
 * type from muscle memory reach the container as they meant them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CTR_BIN, ctr, ctrOk, newStore, REGISTRY, type TestStore } from "./helpers.ts";

let store: TestStore;
let hostDir: string;

beforeAll(async () => {
  store = await newStore();
  hostDir = mkdtempSync(join(tmpdir(), "ctr-cli-parsing-"));
  chmodSync(hostDir, 0o755);
  writeFileSync(join(hostDir, "hello"), "from the host\n");
  await ctrOk(["pull", "alpine"], { store });
});

afterAll(async () => {
  await store.cleanup();
  rmSync(hostDir, { recursive: true, force: true });
});

describe("repeated flags", () => {
  test("accumulate in order whatever their spelling", async () => {
    const r = await ctr(["run", "--rm", "-e", "A=1", "--env", "B=2", "-eC=3", "--env=D=4", "-e=E=5", "alpine", "sh", "-c", "echo $A$B$C$D$E"], { store });
    expect(r).toMatchObject({ code: 0, stdout: "12345\n" });
  });

  test("-l and --label mix, and json prints the labels sorted as Go does", async () => {
    await ctrOk(["create", "--name", "labelled", "-l", "b=2", "--label", "a=1", "-l", "1.10=x", "--label=c=", "alpine", "true"], { store });
    const r = await ctrOk(["inspect", "--format", "{{json .Config.Labels}}", "labelled"], { store });
    expect(r.stdout).toBe('{"1.10":"x","a":"1","b":"2","c":""}\n');
  });

  test("-v and --volume mix, short values attached or after =", async () => {
    const r = await ctr(["run", "--rm", `-v${hostDir}:/c`, `--volume=${hostDir}:/d:ro`, "-v", `${hostDir}:/e`, "alpine", "sh", "-c", "cat /c/hello /e/hello; touch /d/x 2>/dev/null || echo ro"], { store });
    expect(r).toMatchObject({ code: 0, stdout: "from the host\nfrom the host\nro\n" });
  });

  test("-p and --publish mix", async () => {
    // Random host ports: other tests may be publishing at the same time.
    const base = 40000 + Math.floor(Math.random() * 20000);
    await ctrOk(["run", "-d", "--name=published", `-p${base}:80`, `--publish=${base + 1}:81`, "-p", `${base + 2}:82`, "alpine", "sleep", "60"], { store });
    try {
      const r = await ctrOk(["port", "published"], { store });
      expect(r.stdout).toContain(`80/tcp -> 0.0.0.0:${base}\n`);
      expect(r.stdout).toContain(`81/tcp -> 0.0.0.0:${base + 1}\n`);
      expect(r.stdout).toContain(`82/tcp -> 0.0.0.0:${base + 2}\n`);
    } finally {
      await ctr(["rm", "-f", "published"], { store });
    }
  });
});

describe("values stay as typed", () => {
  test("numeric-looking names, hostnames, users and workdirs stay strings", async () => {
    const r = await ctr(["run", "--name", "007", "--hostname", "0123", "-u", "1000", "-w", "/010", "alpine", "sh", "-c", "hostname; id -u; pwd"], { store });
    expect(r).toMatchObject({ code: 0, stdout: "0123\n1000\n/010\n" });
    const names = await ctrOk(["ps", "-a", "--format", "{{.Names}}"], { store });
    expect(names.stdout.split("\n")).toContain("007");
    await ctrOk(["rm", "007"], { store });
  });

  test("a tag that looks like a number stays a tag", async () => {
    await ctrOk(["tag", "alpine", "alpine:1.10"], { store });
    const r = await ctrOk(["images", "--format", "{{.Tag}}", "alpine"], { store });
    expect(r.stdout.split("\n")).toContain("1.10");
  });

  test("--entrypoint= is the empty entrypoint, not the image", async () => {
    const r = await ctr(["run", "--rm", "--entrypoint=", "alpine", "echo", "hi"], { store });
    expect(r).toMatchObject({ code: 0, stdout: "hi\n" });
  });

  test("-1 after a flag that takes a value is its value", async () => {
    const r = await ctr(["run", "--rm", "--memory-swap", "-1", "--pids-limit", "-1", "alpine", "echo", "ok"], { store });
    expect(r).toMatchObject({ code: 0, stdout: "ok\n" });
  });

  test("--oom-score-adj is applied and checked", async () => {
    const ok = await ctr(["run", "--rm", "--oom-score-adj", "100", "alpine", "cat", "/proc/self/oom_score_adj"], { store });
    expect(ok).toMatchObject({ code: 0, stdout: "100\n", stderr: "" });
    const bad = await ctr(["run", "--rm", "--oom-score-adj", "5000", "alpine", "true"], { store });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('invalid argument "5000" for "--oom-score-adj" flag');
  });
});

describe("docker's spellings", () => {
  test("booleans take =true and =false, short ones cluster", async () => {
    expect(await ctr(["run", "--rm", "-it=false", "alpine", "sh", "-c", "[ -t 0 ] || echo notty"], { store })).toMatchObject({ code: 0, stdout: "notty\n" });
    expect(await ctr(["run", "--rm=true", "--detach=false", "alpine", "echo", "attached"], { store })).toMatchObject({ code: 0, stdout: "attached\n" });
    const id = (await ctrOk(["run", "-itd", "--name", "clustered", "alpine", "sleep", "60"], { store })).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const ids = await ctrOk(["ps", "-aq", "--no-trunc"], { store });
    expect(ids.stdout.split("\n")).toContain(id);
    await ctrOk(["rm", "-f", "clustered"], { store });
    // Boolean flags that default to true are still given bare in scripts.
    expect(await ctr(["run", "--rm", "--sig-proxy", "alpine", "echo", "proxied"], { store })).toMatchObject({ code: 0, stdout: "proxied\n" });
  });

  test("-- before the image, and the command's own flags and arguments untouched", async () => {
    expect(await ctr(["run", "--rm", "--", "alpine", "sh", "-c", "echo $0 $1", "x", "--rm"], { store })).toMatchObject({ code: 0, stdout: "x --rm\n" });
  });

  test("-h is the hostname for run, help elsewhere; --help works per verb", async () => {
    expect(await ctr(["run", "--rm", "-h", "box", "alpine", "hostname"], { store })).toMatchObject({ code: 0, stdout: "box\n" });
    const runHelp = await ctr(["run", "--help"], { store });
    expect(runHelp.code).toBe(0);
    expect(runHelp.stdout).toContain("ctr run <image>");
    const psHelp = await ctr(["ps", "-h"], { store });
    expect(psHelp.code).toBe(0);
    expect(psHelp.stdout).toContain("--all");
  });

  test("unknown flags and missing values are refused with docker's words", async () => {
    expect(await ctr(["run", "--no-such", "alpine"], { store })).toMatchObject({ code: 125, stderr: "Error: unknown flag: --no-such\n" });
    expect(await ctr(["ps", "-az"], { store })).toMatchObject({ code: 125, stderr: "Error: unknown shorthand flag: 'z' in -az\n" });
    expect(await ctr(["run", "--name"], { store })).toMatchObject({ code: 125, stderr: "Error: flag needs an argument: --name\n" });
  });
});

describe("run's automatic pull", () => {
  test("draws per-blob progress on a terminal, as pull does", async () => {
    await using fresh = await newStore();
    const chunks: Uint8Array[] = [];
    let closed!: () => void;
    const eof = new Promise<void>((r) => (closed = r));
    const terminal = new Bun.Terminal({ cols: 100, rows: 40, data: (_t, d) => chunks.push(d), exit: () => closed() });
    let code: number;
    try {
      const p = Bun.spawn([CTR_BIN, "run", "--rm", `${REGISTRY}/library/busybox:latest`, "echo", "ran"], { env: { ...process.env, ...fresh.env }, terminal });
      const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
      code = await p.exited;
      clearTimeout(timer);
      // The pty's last bytes may still be in flight after the exit.
      await Promise.race([eof, Bun.sleep(2000)]);
    } finally {
      terminal.close();
    }
    const screen = Buffer.concat(chunks).toString();
    expect(code).toBe(0);
    expect(screen).toContain("\x1b[2K");
    expect(screen).toMatch(/Copying blob sha256:[0-9a-f]{12}… \S+ \/ \S+ done/);
    expect(screen).toContain("ran");
  }, 90_000);

  test("prints the plain lines through a pipe", async () => {
    await using fresh = await newStore();
    const r = await ctr(["create", `${REGISTRY}/library/busybox:latest`], { store: fresh });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("\x1b");
    expect(r.stderr).toMatch(/^Copying blob [0-9a-f]{12}$/m);
  }, 90_000);
});

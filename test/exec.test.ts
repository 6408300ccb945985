/**
 * `ctr exec` joins a running container's namespaces through the shim, with
 * its own stdio, terminal and exit code; `run -t`/`-it` get a real pty.
 * Terminals are driven with util-linux `script`, which gives ctr a pty as
 * its stdio, as a user's terminal would.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CTR_BIN, ctr, ctrOk, newStore, type TestStore } from "./helpers.ts";

let store: TestStore;

beforeAll(async () => {
  store = await newStore();
  await ctrOk(["pull", "alpine"], { store });
  await ctrOk(["run", "-d", "--name", "box", "--hostname", "boxhost", "alpine", "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"], { store });
});

afterAll(async () => {
  await ctr(["rm", "-f", "-a"], { store });
  await store.cleanup();
});

const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `ctr args` on a pty (through `script`); each step waits for `expect`
 * in the output so far, then types `send`. Returns the output and exit code.
 */
async function onPty(args: string[], steps: { expect: string; send: string }[]): Promise<{ code: number; output: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...store.env })) if (v !== undefined) env[k] = v;
  const p = Bun.spawn(["script", "-qec", [CTR_BIN, ...args].map(quote).join(" "), "/dev/null"], { env, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
  const reader = p.stdout.getReader();
  const decoder = new TextDecoder();
  let output = "";
  for (const step of steps) {
    while (!output.includes(step.expect)) {
      const { value, done } = await reader.read();
      if (done) break;
      output += decoder.decode(value);
    }
    p.stdin.write(step.send);
    p.stdin.flush();
  }
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    output += decoder.decode(value);
  }
  p.stdin.end();
  clearTimeout(timer);
  return { code: await p.exited, output };
}

describe("ctr exec", () => {
  test("runs in the container's namespaces and passes its exit code", async () => {
    const r = await ctr(["exec", "box", "sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; exit 6"], { store });
    expect(r.code).toBe(6);
    const [host, init] = r.stdout.split("\n");
    expect(host).toBe("boxhost");
    expect(init).toContain("trap 'exit 0' TERM");
  });

  test("-w, -e and -u set the process's directory, environment and user", async () => {
    const r = await ctrOk(["exec", "-w", "/tmp", "-e", "FOO=bar", "-u", "nobody", "box", "sh", "-c", 'pwd; echo "$FOO"; id -u'], { store });
    expect(r.stdout).toBe("/tmp\nbar\n65534\n");
  });

  test("-i passes stdin", async () => {
    const r = await ctrOk(["exec", "-i", "box", "sh"], { store, stdin: "echo from-stdin\n" });
    expect(r.stdout).toBe("from-stdin\n");
  });

  test("a missing command is 127, a container that is not running 125", async () => {
    const missing = await ctr(["exec", "box", "no-such-cmd"], { store });
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("no-such-cmd");
    await ctrOk(["create", "--name", "notrunning", "alpine", "true"], { store });
    const r = await ctr(["exec", "notrunning", "true"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("not running");
  });

  test("a file that is not executable is 126", async () => {
    const r = await ctr(["exec", "box", "/etc/passwd"], { store });
    expect(r.code).toBe(126);
    expect(r.stderr).toContain("/etc/passwd");
  });

  test("--privileged gives every capability; without it, the container's set", async () => {
    const capEff = (out: string) => BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(out)![1]}`);
    const sysAdmin = 1n << 21n;
    const plain = capEff((await ctrOk(["exec", "box", "grep", "CapEff", "/proc/self/status"], { store })).stdout);
    expect(plain & sysAdmin).toBe(0n);
    const priv = capEff((await ctrOk(["exec", "--privileged", "box", "grep", "CapEff", "/proc/self/status"], { store })).stdout);
    expect(priv & sysAdmin).toBe(sysAdmin);
    expect(priv & plain).toBe(plain);
    // Capabilities of the container's user namespace: a mount works inside, nothing more outside.
    const r = await ctr(["exec", "--privileged", "box", "sh", "-c", "mkdir -p /mnt/t && mount -t tmpfs none /mnt/t && echo mounted"], { store });
    expect(r).toMatchObject({ code: 0, stdout: "mounted\n" });
  });

  test("-u uid:gid and --env-file", async () => {
    const envFile = `${store.root}/exec.env`;
    await Bun.write(envFile, "FROM_FILE=yes\n# a comment\n");
    const r = await ctrOk(["exec", "-u", "1234:4321", "--env-file", envFile, "box", "sh", "-c", 'id -u; id -g; echo "$FROM_FILE"'], { store });
    expect(r.stdout).toBe("1234\n4321\nyes\n");
  });

  test("-d runs the command in the background", async () => {
    const r = await ctrOk(["exec", "-d", "box", "sh", "-c", "echo done > /tmp/bg-mark"], { store });
    expect(r.stdout).toBe("");
    const deadline = Date.now() + 20_000;
    let seen = "";
    while (Date.now() < deadline && seen !== "done\n") {
      seen = (await ctr(["exec", "box", "cat", "/tmp/bg-mark"], { store })).stdout;
      if (seen !== "done\n") await Bun.sleep(100);
    }
    expect(seen).toBe("done\n");
  });

  test("-it through a real pty: typed input runs, the exit code passes through", async () => {
    const r = await onPty(["exec", "-it", "box", "sh"], [
      { expect: "# ", send: "tty; echo typed $((40+2))\r" },
      { expect: "typed 42", send: "exit 3\r" },
    ]);
    expect(r.output).toContain("typed 42");
    expect(r.output).toMatch(/\/dev\/pts\/\d+/);
    expect(r.code).toBe(3);
  });
});

describe("run with a terminal", () => {
  test("run -it gives the container a pty of its own devpts", async () => {
    const r = await onPty(["run", "-it", "--rm", "alpine", "sh"], [
      { expect: "# ", send: "tty; ls /dev/pts/; echo ran-$((2*3))\r" },
      { expect: "ran-6", send: "exit 4\r" },
    ]);
    expect(r.output).toContain("/dev/pts/0");
    expect(r.output).toContain("ran-6");
    expect(r.code).toBe(4);
  });

  test("run -it detaches with Ctrl-P Ctrl-Q (or --detach-keys) and the container runs on", async () => {
    const r = await onPty(["run", "-it", "--name", "leftrunning", "alpine", "sh"], [
      { expect: "# ", send: "echo $((6*7))\r" },
      { expect: "42", send: "\x10\x11" },
    ]);
    expect(r.code).toBe(0);
    const doc = JSON.parse((await ctrOk(["inspect", "leftrunning"], { store })).stdout)[0];
    expect(doc.State.Running).toBe(true);
    const custom = await onPty(["run", "-it", "--detach-keys", "ctrl-x", "--name", "customkeys", "alpine", "sh"], [{ expect: "# ", send: "\x18" }]);
    expect(custom.code).toBe(0);
    expect(JSON.parse((await ctrOk(["inspect", "customkeys"], { store })).stdout)[0].State.Running).toBe(true);
    await ctrOk(["rm", "-f", "leftrunning", "customkeys"], { store });
  }, 30_000);

  test("run -it --rm is removed after the shell exits", async () => {
    const r = await onPty(["run", "-it", "--rm", "--name", "tmpshell", "alpine", "sh"], [{ expect: "# ", send: "exit 9\r" }]);
    expect(r.code).toBe(9);
    const deadline = Date.now() + 20_000;
    while ((await ctr(["inspect", "--type", "container", "tmpshell"], { store })).code === 0 && Date.now() < deadline) await Bun.sleep(100);
    expect((await ctr(["inspect", "--type", "container", "tmpshell"], { store })).code).toBe(125);
  });

  test("run -t output reaches the caller and the log", async () => {
    const r = await onPty(["run", "-t", "--name", "tty-logged", "alpine", "sh", "-c", "tty; echo hi"], []);
    expect(r.code).toBe(0);
    expect(r.output).toContain("hi");
    const logs = await ctrOk(["logs", "tty-logged"], { store });
    expect(logs.stdout).toContain("/dev/pts/0");
    expect(logs.stdout).toContain("hi");
  });
});

describe("ctr attach", () => {
  test("relays stdin and output of a detached -i container, and ends with its exit code", async () => {
    await ctrOk(["run", "-di", "--name", "reader", "alpine", "sh", "-c", "while read l; do echo got $l; done; echo bye; exit 3"], { store });
    const r = await ctr(["attach", "reader"], { store, stdin: "x\ny\n" });
    expect(r.stdout).toBe("got x\ngot y\nbye\n");
    expect(r.code).toBe(3);
  });

  test("Ctrl-P Ctrl-Q detaches and leaves the container running; attach again reaches it", async () => {
    await ctrOk(["run", "-dit", "--name", "shell", "alpine", "sh"], { store });
    // The prompt was printed before we attached; a newline gets a fresh one.
    const first = await onPty(["attach", "shell"], [
      { expect: "", send: "\r" },
      { expect: "# ", send: "echo hi-$((1+1))\r" },
      { expect: "hi-2", send: "\x10\x11" },
    ]);
    expect(first.code).toBe(0);
    expect(first.output).toContain("hi-2");
    const doc = JSON.parse((await ctrOk(["inspect", "shell"], { store })).stdout)[0];
    expect(doc.State.Running).toBe(true);
    const second = await onPty(["attach", "shell"], [
      { expect: "", send: "\r" },
      { expect: "# ", send: "exit 7\r" },
    ]);
    expect(second.code).toBe(7);
  });

  test("attach to a container that is not running fails", async () => {
    await ctrOk(["create", "--name", "cold", "alpine", "true"], { store });
    const r = await ctr(["attach", "cold"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("not running");
  });
});

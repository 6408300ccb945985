/**
 * Terminals, driven the way a user's terminal drives ctr: a real pty
 * (Bun.Terminal) that is ctr's controlling terminal (`setsid -c`), so a
 * window size change reaches ctr as the kernel's SIGWINCH, and typed keys
 * (the detach keys among them) go through its line discipline.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CTR_BIN, ctr, ctrOk, newStore, type TestStore } from "./helpers.ts";

let store: TestStore;

beforeAll(async () => {
  store = await newStore();
  await ctrOk(["pull", "alpine"], { store });
  await ctrOk(["run", "-d", "--name", "tbox", "alpine", "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"], { store });
});

afterAll(async () => {
  await ctr(["rm", "-f", "-a"], { store });
  await store.cleanup();
});

interface PtySession {
  /** Waits until the output so far contains `text` (a hang guard fails the test after 20 s). */
  waitFor(text: string): Promise<void>;
  type(text: string): void;
  resize(cols: number, rows: number): void;
  /** ctr's exit status. */
  exited: Promise<number>;
  output(): string;
  close(): void;
}

/** Starts `ctr args` on a fresh 80x24 pty that is its controlling terminal. */
function onPty(args: string[]): PtySession {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...store.env })) if (v !== undefined) env[k] = v;
  const decoder = new TextDecoder();
  let out = "";
  const terminal = new Bun.Terminal({ cols: 80, rows: 24, data: (_t, d) => void (out += decoder.decode(d, { stream: true })) });
  // Bun.Terminal does not make the pty the child's controlling terminal; setsid -c does.
  const proc = Bun.spawn(["setsid", "-c", CTR_BIN, ...args], { terminal, env });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  return {
    async waitFor(text) {
      const deadline = Date.now() + 20_000;
      while (!out.includes(text)) {
        if (Date.now() > deadline) throw new Error(`"${text}" never came; output: ${JSON.stringify(out)}`);
        await Bun.sleep(20);
      }
    },
    type: (text) => void terminal.write(text),
    resize: (cols, rows) => terminal.resize(cols, rows),
    exited: proc.exited.finally(() => clearTimeout(timer)),
    output: () => out,
    close: () => terminal.close(),
  };
}

/** Asks the shell for its terminal size after a fresh marker, so an earlier answer is never taken for it. */
async function sttySize(s: PtySession, marker: string): Promise<string> {
  s.type(`echo ${marker}-$((1+1)); stty size\r`);
  await s.waitFor(`${marker}-2`);
  const after = () => s.output().slice(s.output().lastIndexOf(`${marker}-2`));
  const deadline = Date.now() + 20_000;
  while (!/\n(\d+ \d+)\r*\n/.test(after()) && Date.now() < deadline) await Bun.sleep(20);
  return /\n(\d+ \d+)\r*\n/.exec(after())?.[1] ?? "none";
}

describe("window size", () => {
  test("run -it: the container's terminal starts at the caller's size and follows its changes", async () => {
    const s = onPty(["run", "-it", "--rm", "alpine", "sh"]);
    await s.waitFor("# ");
    expect(await sttySize(s, "first")).toBe("24 80");
    s.resize(111, 33);
    expect(await sttySize(s, "second")).toBe("33 111");
    s.type("exit 4\r");
    expect(await s.exited).toBe(4);
    s.close();
  }, 30_000);

  test("exec -it: the process's terminal starts at the caller's size and follows its changes", async () => {
    const s = onPty(["exec", "-it", "tbox", "sh"]);
    await s.waitFor("# ");
    expect(await sttySize(s, "first")).toBe("24 80");
    s.resize(97, 41);
    expect(await sttySize(s, "second")).toBe("41 97");
    s.type("exit 6\r");
    expect(await s.exited).toBe(6);
    s.close();
  }, 30_000);
});

describe("exec -it detach keys", () => {
  /** Pids of processes in tbox whose command line contains `needle`. */
  async function execPids(needle: string): Promise<string[]> {
    const r = await ctrOk(["exec", "tbox", "ps", "-o", "pid,args"], { store });
    return r.stdout.split("\n").filter((l) => l.includes(needle) && !l.includes("ps -o")).map((l) => l.trim().split(/\s+/)[0]!);
  }

  test("Ctrl-P Ctrl-Q leaves ctr with 0 and the process running, supervised", async () => {
    const s = onPty(["exec", "-it", "tbox", "sh", "-c", "echo ready; exec sleep 1001"]);
    await s.waitFor("ready");
    s.type("\x10\x11");
    expect(await s.exited).toBe(0);
    s.close();
    expect(await execPids("sleep 1001")).toHaveLength(1);
  }, 30_000);

  test("--detach-keys replaces them; a key that only starts the sequence is typed through", async () => {
    const s = onPty(["exec", "-it", "--detach-keys", "ctrl-a,b", "tbox", "sh"]);
    await s.waitFor("# ");
    // ctrl-a then "e": not the sequence, so both reach the shell (ctrl-a, start of an empty line, changes nothing).
    s.type("\x01echo typed-$((3*3)); exec sleep 1002\r");
    await s.waitFor("typed-9");
    s.type("\x01b");
    expect(await s.exited).toBe(0);
    s.close();
    expect(await execPids("sleep 1002")).toHaveLength(1);
  }, 30_000);

  test("the default keys are not taken over for exec without -t", async () => {
    const r = await ctr(["exec", "-i", "tbox", "cat"], { store, stdin: "a\x10\x11b\n" });
    expect(r).toMatchObject({ code: 0, stdout: "a\x10\x11b\n" });
  }, 30_000);
});

describe("stats", () => {
  test("stats on a terminal redraws each sample in place", async () => {
    const s = onPty(["stats", "tbox"]);
    // Two samples, each starting with home + clear screen.
    const deadline = Date.now() + 20_000;
    while (s.output().split("\x1b[H\x1b[2J").length < 3 && Date.now() < deadline) await Bun.sleep(50);
    expect(s.output().split("\x1b[H\x1b[2J").length).toBeGreaterThanOrEqual(3);
    expect(s.output()).toContain("tbox");
    s.type("\x03");
    await s.exited;
    s.close();
  }, 30_000);
});

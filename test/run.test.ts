/**
 * The spine, end to end: `ctr run` as an unprivileged user against the real
 * local registry, in real namespaces.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ctr, newStore, type TestStore } from "./helpers.ts";

let store: TestStore;

beforeAll(async () => {
  store = await newStore();
});

afterAll(async () => {
  await store.cleanup();
});

describe("ctr run", () => {
  test("prints the command's output and exits 0", async () => {
    const r = await ctr(["run", "alpine", "echo", "hello"], { store });
    expect(r.stderr).not.toContain("Error");
    expect(r.stdout).toBe("hello\n");
    expect(r.code).toBe(0);
  });

  test("passes the container's exit status through", async () => {
    const r = await ctr(["run", "--rm", "alpine", "sh", "-c", "exit 3"], { store });
    expect(r.code).toBe(3);
  });

  test("a missing command exits 127 with a one-line error", async () => {
    const r = await ctr(["run", "--rm", "alpine", "no-such-command"], { store });
    expect(r.code).toBe(127);
    expect(r.stderr).toContain("no-such-command");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("a file that is not executable exits 126", async () => {
    const r = await ctr(["run", "--rm", "alpine", "/etc/passwd"], { store });
    expect(r.code).toBe(126);
    expect(r.stderr).toContain("/etc/passwd");
  });

  test("the process is root inside, and the unprivileged user outside", async () => {
    expect(process.getuid!()).not.toBe(0);
    const r = await ctr(["run", "--rm", "alpine", "sh", "-c", "id -u; cat /proc/self/uid_map"], { store });
    expect(r.code).toBe(0);
    const [uid, ...mapLines] = r.stdout.trim().split("\n");
    expect(uid).toBe("0");
    expect(mapLines[0]!.trim().split(/\s+/)).toEqual(["0", String(process.getuid!()), "1"]);

    // A file the container's root creates belongs to the user on the host.
    const named = await ctr(["run", "--name", "owner-check", "alpine", "touch", "/made-inside"], { store });
    expect(named.code).toBe(0);
    const containers = join(store.dataDir, "containers");
    const id = readdirSync(containers).find((d) => JSON.parse(readFileSync(join(containers, d, "container.json"), "utf8")).name === "owner-check")!;
    const st = statSync(join(containers, id, "upper", "made-inside"));
    expect(st.uid).toBe(process.getuid!());
  });

  test("runs as pid 1 in its own pid namespace", async () => {
    const r = await ctr(["run", "--rm", "alpine", "sh", "-c", "echo $$; ps -o pid= | wc -l"], { store });
    const [pid, count] = r.stdout.trim().split("\n").map((s) => s.trim());
    expect(pid).toBe("1");
    // only the shell and ps itself (and wc) are visible: not the host's processes
    expect(Number(count)).toBeLessThan(5);
  });

  test("the hostname is the container's", async () => {
    const named = await ctr(["run", "--rm", "--hostname", "box", "alpine", "hostname"], { store });
    expect(named.stdout.trim()).toBe("box");
    const dflt = await ctr(["run", "--rm", "alpine", "hostname"], { store });
    expect(dflt.stdout.trim()).toMatch(/^[0-9a-f]{12}$/);
    const host = await Bun.$`hostname`.text();
    expect(dflt.stdout.trim()).not.toBe(host.trim());
  });

  test("the network namespace is the container's own", async () => {
    const r = await ctr(["run", "--rm", "alpine", "cat", "/proc/net/dev"], { store });
    const ifaces = r.stdout.split("\n").slice(2).filter(Boolean).map((l) => l.split(":")[0]!.trim());
    expect(ifaces).toEqual(["lo"]);
  });

  test("arguments after the image are the command's, not ctr's", async () => {
    const r = await ctr(["run", "--rm", "-e", "GREETING=hi there", "alpine", "sh", "-c", 'echo "$GREETING" --rm -e'], { store });
    expect(r.stdout).toBe("hi there --rm -e\n");
  });
});

describe("bad input", () => {
  test("an unknown image is a one-line error, exit 125, and leaves nothing behind", async () => {
    const fresh = await newStore();
    try {
      const r = await ctr(["run", "--rm", "no-such-image-here", "true"], { store: fresh });
      expect(r.code).toBe(125);
      // Progress ("Trying to pull …") may precede it, as in podman; the error is one line.
      const errors = r.stderr.split("\n").filter((l) => l.startsWith("Error"));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('image "no-such-image-here" not found');
      const images = await ctr(["images", "-q"], { store: fresh });
      expect(images.stdout).toBe("");
      expect(fresh.snapshot().filter((p) => /blobs\/sha256\/|layers\/[0-9a-f]{64}|containers\/[0-9a-f]{64}/.test(p))).toEqual([]);
    } finally {
      await fresh.cleanup();
    }
  });

  test("an invalid reference names the input", async () => {
    const r = await ctr(["run", "UPPER/Case", "true"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('invalid reference "UPPER/Case"');
  });

  test("an unknown flag is exit 125", async () => {
    const r = await ctr(["run", "--no-such-flag", "alpine", "true"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("no-such-flag");
  });
});

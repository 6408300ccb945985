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
    // The default network adds slirp4netns's tap0 (test/network.test.ts); none is the bare namespace.
    const r = await ctr(["run", "--rm", "--network", "none", "alpine", "cat", "/proc/net/dev"], { store });
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

describe("run flags for what runs inside", () => {
  const capEff = (out: string) => BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(out)![1]}`);
  const bit = (n: number) => 1n << BigInt(n);

  test("docker's default capability set, --cap-drop, --cap-add and --privileged", async () => {
    const dflt = capEff((await ctr(["run", "--rm", "alpine", "grep", "CapEff", "/proc/self/status"], { store })).stdout);
    // CAP_CHOWN (0) and CAP_NET_RAW (13) are in docker's set; CAP_SYS_ADMIN (21) is not.
    expect(dflt & bit(0)).toBe(bit(0));
    expect(dflt & bit(13)).toBe(bit(13));
    expect(dflt & bit(21)).toBe(0n);
    const narrowed = capEff((await ctr(["run", "--rm", "--cap-drop", "ALL", "--cap-add", "chown", "alpine", "grep", "CapEff", "/proc/self/status"], { store })).stdout);
    expect(narrowed).toBe(bit(0));
    const dropped = capEff((await ctr(["run", "--rm", "--cap-drop", "NET_RAW", "alpine", "grep", "CapEff", "/proc/self/status"], { store })).stdout);
    expect(dropped & bit(13)).toBe(0n);
    const all = capEff((await ctr(["run", "--rm", "--privileged", "alpine", "grep", "CapEff", "/proc/self/status"], { store })).stdout);
    expect(all & bit(21)).toBe(bit(21));
    const bad = await ctr(["run", "--rm", "--cap-add", "NOT_A_CAP", "alpine", "true"], { store });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("NOT_A_CAP");
  });

  test("--security-opt no-new-privileges and --ulimit", async () => {
    const nnp = await ctr(["run", "--rm", "--security-opt", "no-new-privileges", "alpine", "grep", "NoNewPrivs", "/proc/self/status"], { store });
    expect(nnp.stdout).toMatch(/NoNewPrivs:\s*1/);
    const limits = await ctr(["run", "--rm", "--ulimit", "nofile=100:200", "alpine", "sh", "-c", "ulimit -n; ulimit -Hn"], { store });
    expect(limits.stdout).toBe("100\n200\n");
    const bad = await ctr(["run", "--rm", "--ulimit", "nofile", "alpine", "true"], { store });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('"nofile"');
  });

  test("--read-only makes the root read-only, before or after other flags", async () => {
    const r = await ctr(["run", "--rm", "--read-only", "alpine", "touch", "/x"], { store });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Read-only file system");
  });

  test("--init runs an init as pid 1 that passes the exit code through", async () => {
    const r = await ctr(["run", "--rm", "--init", "alpine", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; exit 5"], { store });
    expect(r.code).toBe(5);
    expect(r.stdout).toStartWith("/run/ctr-init init -- sh");
  });

  test("/proc has masked and read-only paths unless privileged", async () => {
    const r = await ctr(["run", "--rm", "alpine", "sh", "-c", "wc -c < /proc/keys; grep ' /proc/sys ' /proc/mounts"], { store });
    const [keys, sys] = r.stdout.trim().split("\n");
    expect(keys!.trim()).toBe("0");
    expect(sys).toMatch(/\bro\b/);
    const priv = await ctr(["run", "--rm", "--privileged", "alpine", "sh", "-c", "grep -c ' /proc/sys ' /proc/mounts"], { store });
    expect(priv.stdout.trim()).toBe("0");
  });

  test("/etc/hosts, /etc/hostname and /etc/resolv.conf are ctr's", async () => {
    const r = await ctr(["run", "--rm", "--hostname", "myhost", "alpine", "sh", "-c", "cat /etc/hostname; grep myhost /etc/hosts; grep -c '^nameserver 127\\.' /etc/resolv.conf"], { store });
    const [hostname, hosts, loopbacks] = r.stdout.trim().split("\n");
    expect(hostname).toBe("myhost");
    expect(hosts).toContain("myhost");
    expect(loopbacks).toBe("0");
  });

  test("-u runs as a user of the image, who can use the root directory", async () => {
    const r = await ctr(["run", "--rm", "-u", "nobody", "alpine", "sh", "-c", "id -u; ls / >/dev/null && echo listed"], { store });
    expect(r).toMatchObject({ code: 0, stdout: "65534\nlisted\n" });
  });
});


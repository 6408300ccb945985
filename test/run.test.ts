/**
 * The spine, end to end: `ctr run` as an unprivileged user against the real
 * local registry, in real namespaces.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CTR_BIN, ctr, ctrOk, newStore, REGISTRY, type TestStore } from "./helpers.ts";

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

  test("--oom-score-adj sets the process's score; rootless, a lower one warns and runs", async () => {
    const raised = await ctr(["run", "--rm", "--oom-score-adj", "500", "alpine", "cat", "/proc/self/oom_score_adj"], { store });
    expect(raised).toMatchObject({ code: 0, stdout: "500\n" });
    // Children inherit it: the whole container is the kernel's first choice.
    const child = await ctr(["run", "--rm", "--oom-score-adj", "1000", "alpine", "sh", "-c", "cat /proc/self/oom_score_adj"], { store });
    expect(child.stdout).toBe("1000\n");
    const before = readFileSync("/proc/self/oom_score_adj", "utf8").trim();
    const lowered = await ctr(["run", "--rm", "--oom-score-adj", "-500", "alpine", "cat", "/proc/self/oom_score_adj"], { store });
    expect(lowered.code).toBe(0);
    expect(lowered.stderr).toContain("WARN: cannot set the OOM score adjustment to -500");
    expect(lowered.stdout).toBe(`${before}\n`);

    const name = `oom-${process.pid}`;
    await ctrOk(["create", "--name", name, "--oom-score-adj", "300", "alpine", "true"], { store });
    expect((await ctrOk(["inspect", "-f", "{{.HostConfig.OomScoreAdj}}", name], { store })).stdout).toBe("300\n");
    await ctrOk(["create", "--name", `${name}-none`, "alpine", "true"], { store });
    expect((await ctrOk(["inspect", "-f", "{{.HostConfig.OomScoreAdj}}", `${name}-none`], { store })).stdout).toBe("0\n");
    await ctr(["rm", name, `${name}-none`], { store });
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

describe("more run and create flags", () => {
  test("--entrypoint replaces the image's (\"\" clears it), -w sets the directory, -u uid:gid the ids", async () => {
    expect(await ctr(["run", "--rm", "--entrypoint", "/bin/echo", "alpine", "a", "b"], { store })).toMatchObject({ code: 0, stdout: "a b\n" });
    expect(await ctr(["run", "--rm", "--entrypoint", "", "alpine", "echo", "cleared"], { store })).toMatchObject({ code: 0, stdout: "cleared\n" });
    expect(await ctr(["run", "--rm", "-w", "/made/here", "-u", "1234:4321", "alpine", "sh", "-c", "pwd; id -u; id -g"], { store })).toMatchObject({ code: 0, stdout: "/made/here\n1234\n4321\n" });
  });

  test("--env-file and -e together, the later winning", async () => {
    const file = join(store.root, "run.env");
    writeFileSync(file, "# comment\nA=from-file\nB=from-file\n\n");
    chmodSync(store.root, 0o755);
    const r = await ctr(["run", "--rm", "--env-file", file, "-e", "B=from-flag", "alpine", "sh", "-c", 'echo "$A $B"'], { store });
    expect(r).toMatchObject({ code: 0, stdout: "from-file from-flag\n" });
    const missing = await ctr(["run", "--rm", "--env-file", join(store.root, "nope.env"), "alpine", "true"], { store });
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain("nope.env");
  });

  test("--label shows in inspect and ps --filter; inspect renders json and range", async () => {
    await ctr(["create", "--name", "labelled", "--label", "tier=web", "--label", "team=a", "alpine", "echo", "x", "y"], { store });
    const r = await ctr(["inspect", "-f", '{{json .Config.Labels}}|{{range .Config.Cmd}}<{{.}}>{{end}}|{{.Config.Labels.tier}}', "labelled"], { store });
    const [json, range, one] = r.stdout.trim().split("|");
    expect(JSON.parse(json!)).toEqual({ team: "a", tier: "web" });
    expect([range, one]).toEqual(["<echo><x><y>", "web"]);
    const ps = await ctr(["ps", "-a", "--filter", "label=tier=web", "--format", "{{.Names}}"], { store });
    expect(ps.stdout).toBe("labelled\n");
    await ctr(["rm", "labelled"], { store });
  });

  test("--pull never runs a local image and refuses an unknown one; --pull always pulls again", async () => {
    expect(await ctr(["run", "--rm", "--pull", "never", "alpine", "true"], { store })).toMatchObject({ code: 0 });
    const r = await ctr(["run", "--rm", "--pull", "never", "ctrtest/not-here", "true"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("not known locally");
    const always = await ctr(["run", "--rm", "--pull", "always", "alpine", "echo", "fresh"], { store });
    expect(always).toMatchObject({ code: 0, stdout: "fresh\n" });
    expect(always.stderr).toContain("Trying to pull");
    expect((await ctr(["run", "--rm", "--pull", "sometimes", "alpine", "true"], { store })).code).toBe(125);
  });

  test("--platform: a local image for it runs; one for another platform is pulled again, or refused with --pull never", async () => {
    const host = process.arch === "arm64" ? "linux/arm64" : "linux/amd64";
    expect((await ctr(["pull", "-q", "alpine"], { store })).code).toBe(0);
    expect(await ctr(["run", "--rm", "--platform", host, "--pull", "never", "alpine", "echo", "local"], { store })).toMatchObject({ code: 0, stdout: "local\n" });
    const never = await ctr(["run", "--rm", "--platform", "linux/s390x", "--pull", "never", "alpine", "true"], { store });
    expect(never.code).toBe(125);
    expect(never.stderr).toContain("linux/s390x");
    // Stored for the host, asked for s390x: pulled again, and the index has no s390x.
    expect((await ctr(["pull", "-q", `${REGISTRY}/library/busybox:oci-index`], { store })).code).toBe(0);
    const pulled = await ctr(["run", "--rm", "--platform", "linux/s390x", `${REGISTRY}/library/busybox:oci-index`, "true"], { store });
    expect(pulled.code).toBe(125);
    expect(pulled.stderr).toContain("no image for platform linux/s390x");
  });

  test("--sig-proxy: SIGTERM to an attached ctr reaches the container, unless --sig-proxy=false", async () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, ...store.env })) if (v !== undefined) env[k] = v;
    const script = "trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.1; done";
    const proxied = Bun.spawn([CTR_BIN, "run", "--rm", "alpine", "sh", "-c", script], { env, stdout: "pipe", stderr: "pipe" });
    const reader = proxied.stdout.getReader();
    let seen = "";
    while (!seen.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    proxied.kill("SIGTERM");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    expect(await proxied.exited).toBe(3);
    expect(seen).toContain("got-term");

    const unproxied = Bun.spawn([CTR_BIN, "run", "--name", "no-proxy", "--sig-proxy=false", "alpine", "sh", "-c", script], { env, stdout: "pipe", stderr: "pipe" });
    const r2 = unproxied.stdout.getReader();
    let seen2 = "";
    while (!seen2.includes("ready")) {
      const { value, done } = await r2.read();
      if (done) break;
      seen2 += new TextDecoder().decode(value);
    }
    unproxied.kill("SIGTERM");
    await Bun.sleep(500);
    // Still running: the signal stayed with ctr.
    expect(JSON.parse((await ctr(["inspect", "no-proxy"], { store })).stdout)[0].State.Running).toBe(true);
    await ctr(["rm", "-f", "no-proxy"], { store });
    await unproxied.exited;
  }, 30_000);

  test("--restart unless-stopped restarts until stopped; --stop-timeout is stop's default", async () => {
    await ctr(["run", "-d", "--name", "unless", "--restart", "unless-stopped", "--stop-timeout", "1", "alpine", "sh", "-c", "trap '' TERM; sleep 0.2"], { store });
    const restarts = async () => Number((await ctr(["inspect", "-f", "{{.RestartCount}}", "unless"], { store })).stdout.trim());
    for (const deadline = Date.now() + 20_000; (await restarts()) < 1; ) {
      if (Date.now() > deadline) throw new Error("never restarted");
      await Bun.sleep(100);
    }
    expect((await ctr(["inspect", "-f", "{{.HostConfig.RestartPolicy.Name}} {{.Config.StopTimeout}}", "unless"], { store })).stdout).toBe("unless-stopped 1\n");
    expect((await ctr(["stop", "unless"], { store })).code).toBe(0);
    const after = await restarts();
    await Bun.sleep(500);
    expect(await restarts()).toBe(after);
    expect((await ctr(["inspect", "-f", "{{.State.Running}}", "unless"], { store })).stdout).toBe("false\n");
    await ctr(["rm", "unless"], { store });
  }, 30_000);

  test("run -i gives the container our stdin; without -i it reads nothing", async () => {
    expect(await ctr(["run", "--rm", "-i", "alpine", "cat"], { store, stdin: "piped-in\n" })).toMatchObject({ code: 0, stdout: "piped-in\n" });
    expect(await ctr(["run", "--rm", "alpine", "cat"], { store, stdin: "not-read\n" })).toMatchObject({ code: 0, stdout: "" });
  });

  test("start -i gives the container our stdin", async () => {
    await ctr(["create", "-i", "--name", "reads", "alpine", "sh", "-c", "read x; echo got-$x"], { store });
    expect(await ctr(["start", "-a", "-i", "reads"], { store, stdin: "hello\n" })).toMatchObject({ code: 0, stdout: "got-hello\n" });
    await ctr(["rm", "reads"], { store });
  });
});

describe("inside the container", () => {
  test("/dev/pts (a new instance), /dev/shm and /dev/mqueue are mounted; HOME and PATH have docker's defaults", async () => {
    const r = await ctr(["run", "--rm", "alpine", "sh", "-c", "for m in /dev/pts /dev/shm /dev/mqueue; do grep -c \" $m \" /proc/mounts; done; ls /dev/pts; echo \"$HOME|$PATH\""], { store });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 3)).toEqual(["1", "1", "1"]);
    // A new devpts instance: only its own ptmx, none of the host's terminals.
    expect(lines[3]).toBe("ptmx");
    expect(lines[4]).toBe("/root|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  });

  test("-u NAME gets the supplementary groups /etc/group gives it", async () => {
    await ctr(["run", "--name", "grouped", "alpine", "sh", "-c", "echo 'extra:x:2000:app' >> /etc/group; echo 'more:x:2001:root,app' >> /etc/group"], { store });
    expect((await ctr(["commit", "grouped", "with-groups"], { store })).code).toBe(0);
    const r = await ctr(["run", "--rm", "-u", "app", "with-groups", "id", "-G"], { store });
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout.trim().split(" ").sort()).toEqual(["1000", "2000", "2001"]);
    await ctr(["rm", "grouped"], { store });
  });

  test("--init reaps the orphans that a plain pid 1 leaves as zombies", async () => {
    // The orphan is reparented to pid 1; `exec sleep` as pid 1 never reaps it.
    const script = "(sh -c 'sleep 0.1; touch /tmp/orphan-done' &); exec sleep 30";
    /** Polls the container until `done` holds for its zombie count (the orphan must have ended first). */
    const zombiesUntil = async (name: string, done: (n: number) => boolean) => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const ended = (await ctr(["exec", name, "test", "-e", "/tmp/orphan-done"], { store })).code === 0;
        const ps = (await ctr(["exec", name, "ps", "-o", "stat"], { store })).stdout;
        const n = ps.split("\n").filter((l) => l.trim().startsWith("Z")).length;
        if ((ended && done(n)) || Date.now() > deadline) return n;
        await Bun.sleep(100);
      }
    };
    await ctr(["run", "-d", "--name", "no-init", "alpine", "sh", "-c", script], { store });
    await ctr(["run", "-d", "--init", "--name", "with-init", "alpine", "sh", "-c", script], { store });
    expect(await zombiesUntil("no-init", (n) => n > 0)).toBe(1);
    expect(await zombiesUntil("with-init", (n) => n === 0)).toBe(0);
    await ctr(["rm", "-f", "no-init", "with-init"], { store });
  }, 60_000);
});


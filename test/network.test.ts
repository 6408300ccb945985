/**
 * Networking as the unprivileged user: the shared default network gives
 * outbound access (test/network-default.test.ts has more), `slirp4netns`
 * a slirp4netns of the container's own, `none` only loopback, `host` the
 * host's interfaces; `-p` publishes ports through slirp4netns's API.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ctr, ctrOk, newStore, slirpFor, type TestStore } from "./helpers.ts";
import { eventually, fetchRetrying, freePort } from "./wait.ts";

let store: TestStore;

beforeAll(async () => {
  store = await newStore();
  await ctrOk(["pull", "busybox"], { store });
  // The image-side HTTP client for the host-loopback test.
  await ctrOk(["pull", "alpine"], { store });
});

afterAll(async () => {
  await ctr(["rm", "-f", "-a"], { store });
  await store.cleanup();
});

const WWW = "mkdir -p /www && echo hello from httpd > /www/index.html && exec httpd -f -p 80 -h /www";

describe("network modes", () => {
  test("the default network gives eth0 an address on 10.88.0.0/24 and slirp4netns's DNS forwarder there", async () => {
    const r = await ctrOk(["run", "--rm", "busybox", "sh", "-c", "ip -o -4 addr show eth0; cat /etc/resolv.conf"], { store });
    expect(r.stdout).toMatch(/inet 10\.88\.0\.\d+\/24/);
    expect(r.stdout).toContain("nameserver 10.88.0.3");
  });

  test("--network slirp4netns has tap0 with slirp4netns's address and its DNS forwarder", async () => {
    const r = await ctrOk(["run", "--rm", "--network", "slirp4netns", "busybox", "sh", "-c", "ip -o -4 addr show tap0; cat /etc/resolv.conf"], { store });
    expect(r.stdout).toContain("inet 10.0.2.100/24");
    expect(r.stdout).toContain("nameserver 10.0.2.3");
  });

  test("--network none has only lo", async () => {
    const r = await ctrOk(["run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net"], { store });
    expect(r.stdout.trim().split(/\s+/)).toEqual(["lo"]);
  });

  test("--net host sees the host's interfaces", async () => {
    const r = await ctrOk(["run", "--rm", "--net", "host", "busybox", "ls", "/sys/class/net"], { store });
    const host = (await Bun.$`ls /sys/class/net`.text()).trim().split(/\s+/).sort();
    expect(r.stdout.trim().split(/\s+/).sort()).toEqual(host);
  });

  test("--add-host adds /etc/hosts lines; a bad one is exit 125", async () => {
    const r = await ctrOk(["run", "--rm", "--add-host", "db:10.9.8.7", "--add-host", "gw=host-gateway", "busybox", "cat", "/etc/hosts"], { store });
    expect(r.stdout).toContain("10.9.8.7\tdb\n");
    expect(r.stdout).toContain("10.0.2.2\tgw\n");
    const bad = await ctr(["run", "--rm", "--add-host", "db:nowhere", "busybox", "true"], { store });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('invalid --add-host "db:nowhere"');
  });

  test("an unknown network mode is an error before anything is created", async () => {
    const r = await ctr(["run", "--rm", "--network", "no-such-net", "busybox", "true"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('unsupported network mode "no-such-net"');
  });

  test("the host's loopback is reachable through the gateway only when allowed", async () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("hello from the host\n") });
    try {
      const url = `http://10.0.2.2:${server.port}/`;
      const denied = await ctr(["run", "--rm", "--network", "slirp4netns", "alpine", "wget", "-q", "-O", "-", url], { store });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain("Network is unreachable");
      // The shared default network's slirp4netns keeps it closed to all: its gateway is not the host.
      const shared = await ctr(["run", "--rm", "alpine", "wget", "-q", "-O", "-", `http://10.88.0.2:${server.port}/`], { store });
      expect(shared.code).toBe(1);
      expect(shared.stderr).toContain("Network is unreachable");
      const allowed = await ctrOk(["run", "--rm", "--network", "slirp4netns:allow_host_loopback=true", "alpine", "wget", "-q", "-O", "-", url], { store });
      expect(allowed.stdout).toBe("hello from the host\n");
      const byName = await ctrOk(["run", "--rm", "--add-host", "host.containers.internal:host-gateway", "alpine", "wget", "-q", "-O", "-", `http://host.containers.internal:${server.port}/`], { store });
      expect(byName.stdout).toBe("hello from the host\n");
    } finally {
      server.stop(true);
    }
  }, 30000);
});

describe("published ports", () => {
  test("a detached httpd answers an HTTP request on its published port; port, ps and inspect show it", async () => {
    const hostPort = await freePort();
    await ctrOk(["run", "-d", "--name", "web", "-p", `${hostPort}:80`, "busybox", "sh", "-c", WWW], { store });
    expect(await fetchRetrying(`http://127.0.0.1:${hostPort}/`)).toBe("hello from httpd\n");
    expect((await ctrOk(["port", "web"], { store })).stdout).toBe(`80/tcp -> 0.0.0.0:${hostPort}\n`);
    expect((await ctrOk(["port", "web", "80"], { store })).stdout).toBe(`0.0.0.0:${hostPort}\n`);
    expect((await ctr(["port", "web", "81"], { store })).code).toBe(125);
    expect((await ctrOk(["ps", "--format", "{{.Ports}}"], { store })).stdout).toBe(`0.0.0.0:${hostPort}->80/tcp\n`);
    const [doc] = JSON.parse((await ctrOk(["inspect", "web"], { store })).stdout) as { NetworkSettings: { Ports: unknown } }[];
    expect(doc!.NetworkSettings.Ports).toEqual({ "80/tcp": [{ HostIp: "0.0.0.0", HostPort: String(hostPort) }] });

    // The port is taken now: a second container must fail before it starts.
    const again = await ctr(["run", "-d", "--name", "web2", "-p", `${hostPort}:80`, "busybox", "true"], { store });
    expect(again.code).toBe(125);
    expect(again.stderr).toContain(`host port 0.0.0.0:${hostPort}/tcp is already in use`);

    // Removing the container frees the port.
    await ctrOk(["rm", "-f", "web", "web2"], { store });
    for (let i = 0; i < 50; i++) {
      if ((await ctr(["run", "--rm", "-p", `${hostPort}:80`, "busybox", "true"], { store })).code === 0) return;
      await Bun.sleep(100);
    }
    throw new Error(`host port ${hostPort} stayed bound after the container was removed`);
  }, 30000);

  test("--network slirp4netns: killing the monitor ends the container's slirp4netns and frees its ports", async () => {
    const hostPort = await freePort();
    await ctrOk(["run", "-d", "--name", "orphan", "--network", "slirp4netns", "-p", `127.0.0.1:${hostPort}:80`, "busybox", "sh", "-c", WWW], { store });
    expect(await fetchRetrying(`http://127.0.0.1:${hostPort}/`)).toBe("hello from httpd\n");
    const [doc] = JSON.parse((await ctrOk(["inspect", "orphan"], { store })).stdout) as { State: { Pid: number; ConmonPid: number } }[];
    expect(slirpFor(doc!.State.Pid)).toHaveLength(1);
    process.kill(doc!.State.ConmonPid, "SIGKILL");
    process.kill(doc!.State.Pid, "SIGKILL");
    expect(await eventually(() => slirpFor(doc!.State.Pid).length === 0)).toBe(true);
    expect(await eventually(async () => (await ctr(["run", "--rm", "-p", `127.0.0.1:${hostPort}:80`, "busybox", "true"], { store })).code === 0)).toBe(true);
    await ctr(["rm", "-f", "orphan"], { store });
  }, 30000);

  test("a restarted container is published again", async () => {
    const hostPort = await freePort();
    // The first run only exits; the restart (same writable layer) serves.
    const script = "if [ -e /www/index.html ]; then exec httpd -f -p 80 -h /www; fi; mkdir -p /www; echo second run > /www/index.html; exit 1";
    await ctrOk(["run", "-d", "--name", "again", "--restart", "on-failure:1", "-p", `127.0.0.1:${hostPort}:80`, "busybox", "sh", "-c", script], { store });
    expect(await fetchRetrying(`http://127.0.0.1:${hostPort}/`)).toBe("second run\n");
    await ctrOk(["rm", "-f", "again"], { store });
  }, 30000);

  test("a random host port is chosen and reported", async () => {
    await ctrOk(["run", "-d", "--name", "random", "-p", "127.0.0.1::80", "busybox", "sh", "-c", WWW], { store });
    const addr = (await ctrOk(["port", "random", "80/tcp"], { store })).stdout.trim();
    expect(addr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await fetchRetrying(`http://${addr}/`)).toBe("hello from httpd\n");
    await ctrOk(["rm", "-f", "random"], { store });
  }, 30000);

  test.each(["80000", "8080:80/sctp", "x:80", "4000-4001:80-82"])("invalid -p %p is exit 125 and creates nothing", async (spec) => {
    const before = (await ctrOk(["ps", "-a", "-q"], { store })).stdout;
    const r = await ctr(["run", "--rm", "-p", spec, "busybox", "true"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain(`invalid port spec "${spec}"`);
    expect((await ctrOk(["ps", "-a", "-q"], { store })).stdout).toBe(before);
  });

  test("-p with --network none is refused", async () => {
    const r = await ctr(["run", "--rm", "--network", "none", "-p", "8080:80", "busybox", "true"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("cannot publish ports with --network none");
  });
});

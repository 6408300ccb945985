/**
 * The network modes beyond the default, as the unprivileged user: `-P`
 * (the image's EXPOSE on random host ports), `--network container:NAME`
 * (another container's network namespace), and `--network pasta` (a pasta
 * per container; the client's address reaches the container).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer as createTcpServer, type Server } from "node:net";
import { which } from "../src/host/which.ts";
import { hostDefaultGateway } from "../src/network/pasta.ts";
import { ctr, ctrOk, newStore, type TestStore } from "./helpers.ts";
import { eventually, fetchRetrying, freePort } from "./wait.ts";

let store: TestStore;

beforeAll(async () => {
  store = await newStore();
  await ctrOk(["pull", "busybox"], { store });
  // An image that EXPOSEs ports, made the way a user would.
  await ctrOk(["create", "--name", "exposing", "busybox", "true"], { store });
  await ctrOk(["commit", "-q", "-c", "EXPOSE 80 8080", "-c", "EXPOSE 53/udp", "exposing", "localhost/exposed"], { store });
  await ctrOk(["rm", "exposing"], { store });
});

afterAll(async () => {
  await ctr(["rm", "-f", "-a"], { store });
  await store.cleanup();
});

/** busybox httpd on port 80, with a CGI that prints the client's address. */
const WWW_PEER =
  "mkdir -p /www/cgi-bin && echo hello from httpd > /www/index.html && " +
  "printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho peer=$REMOTE_ADDR\\n' > /www/cgi-bin/peer && " +
  "chmod +x /www/cgi-bin/peer && exec httpd -f -p 80 -h /www";

/** Whether `port` can be bound on all addresses now. */
async function portFree(port: number): Promise<boolean> {
  const server: Server = createTcpServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen({ port, host: "0.0.0.0", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

describe("-P / --publish-all", () => {
  test("publishes every EXPOSEd port on a random host port, with -p's own choice kept", async () => {
    const pinned = await freePort();
    await ctrOk(["run", "-d", "--name", "all", "-P", "-p", `${pinned}:8080`, "localhost/exposed", "sh", "-c", WWW_PEER], { store });
    const port = (await ctrOk(["port", "all"], { store })).stdout;
    const lines = port.trim().split("\n").sort();
    expect(lines).toHaveLength(3);
    expect(lines).toContain(`8080/tcp -> 0.0.0.0:${pinned}`);
    const http = /^80\/tcp -> 0\.0\.0\.0:(\d+)$/m.exec(port);
    const dns = /^53\/udp -> 0\.0\.0\.0:(\d+)$/m.exec(port);
    expect(http).not.toBeNull();
    expect(dns).not.toBeNull();
    expect(Number(http![1])).not.toBe(pinned);
    // The random port really leads to the container's port 80.
    expect(await fetchRetrying(`http://127.0.0.1:${http![1]}/`)).toBe("hello from httpd\n");
    const ps = (await ctrOk(["ps", "--filter", "name=all", "--format", "{{.Ports}}"], { store })).stdout;
    expect(ps).toContain(`0.0.0.0:${http![1]}->80/tcp`);
    expect(ps).toContain(`0.0.0.0:${pinned}->8080/tcp`);
    expect(ps).toContain(`0.0.0.0:${dns![1]}->53/udp`);
    expect((await ctrOk(["inspect", "-f", "{{.HostConfig.PublishAllPorts}}", "all"], { store })).stdout).toBe("true\n");
    await ctrOk(["rm", "-f", "all"], { store });
  }, 60_000);

  test("an image without EXPOSE publishes nothing", async () => {
    await ctrOk(["run", "-d", "--name", "noexpose", "-P", "busybox", "sleep", "60"], { store });
    expect((await ctrOk(["port", "noexpose"], { store })).stdout).toBe("");
    await ctrOk(["rm", "-f", "noexpose"], { store });
  }, 30_000);
});

describe("--network container:NAME", () => {
  test("joins the other container's network: its localhost, hostname and /etc files", async () => {
    await ctrOk(["run", "-d", "--name", "net-a", "busybox", "sh", "-c", WWW_PEER], { store });
    const script = "for i in $(seq 1 100); do wget -qO- http://127.0.0.1:80/ && break; sleep 0.1; done; hostname; cat /etc/hosts";
    const b = await ctrOk(["run", "--rm", "--network", "container:net-a", "busybox", "sh", "-c", script], { store });
    const [answer, hostname] = b.stdout.split("\n");
    expect(answer).toBe("hello from httpd");
    const a = await ctrOk(["exec", "net-a", "sh", "-c", "hostname; cat /etc/hosts"], { store });
    // The same identity: hostname and hosts file are net-a's.
    expect(b.stdout.slice(answer!.length + 1)).toBe(a.stdout);
    expect(hostname).toBe((await ctrOk(["inspect", "-f", "{{.Config.Hostname}}", "net-a"], { store })).stdout.trim());
    // By id as well as by name.
    const id = (await ctrOk(["inspect", "-f", "{{.Id}}", "net-a"], { store })).stdout.trim();
    const byId = await ctrOk(["run", "--rm", "--network", `container:${id}`, "busybox", "sh", "-c", script], { store });
    expect(byId.stdout.split("\n")[0]).toBe("hello from httpd");
    // inspect names the joined container as docker and podman do.
    await ctrOk(["create", "--name", "net-b", "--network", "container:net-a", "busybox", "true"], { store });
    expect((await ctrOk(["inspect", "-f", "{{.HostConfig.NetworkMode}}", "net-b"], { store })).stdout).toBe(`container:${id}\n`);
    expect((await ctrOk(["inspect", "-f", "{{.HostConfig.PublishAllPorts}}", "net-b"], { store })).stdout).toBe("false\n");
    await ctrOk(["rm", "net-b"], { store });
  }, 60_000);

  test("the network of a container in host mode is the host's", async () => {
    const port = await freePort();
    await ctrOk(["run", "-d", "--name", "net-host", "--network", "host", "busybox", "sh", "-c", `mkdir -p /www && echo hello from the host network > /www/index.html && exec httpd -f -p ${port} -h /www`], { store });
    expect(await fetchRetrying(`http://127.0.0.1:${port}/`)).toBe("hello from the host network\n");
    const b = await ctrOk(["run", "--rm", "--network", "container:net-host", "busybox", "wget", "-qO-", `http://127.0.0.1:${port}/`], { store });
    expect(b.stdout).toBe("hello from the host network\n");
    await ctrOk(["rm", "-f", "net-host"], { store });
  }, 60_000);

  test("-p, a missing container and a stopped one are clear errors", async () => {
    const p = await ctr(["run", "--rm", "--network", "container:net-a", "-p", "8080:80", "busybox", "true"], { store });
    expect(p.code).toBe(125);
    expect(p.stderr).toContain("cannot publish ports with --network container:net-a");
    const missing = await ctr(["create", "--network", "container:no-such-ctr", "busybox", "true"], { store });
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain('no such container "no-such-ctr"');
    await ctrOk(["run", "-d", "--name", "net-stopped", "busybox", "sleep", "60"], { store });
    await ctrOk(["create", "--name", "net-joiner", "--network", "container:net-stopped", "busybox", "true"], { store });
    await ctrOk(["stop", "-t", "0", "net-stopped"], { store });
    const start = await ctr(["start", "net-joiner"], { store });
    expect(start.code).toBe(125);
    expect(start.stderr).toContain("cannot join the network of container net-stopped: it is not running");
    await ctrOk(["rm", "-f", "net-joiner", "net-stopped"], { store });
  }, 60_000);
});

const hasPasta = which("pasta") !== undefined;

describe("--network pasta", () => {
  test.if(hasPasta)("a published port shows the client's own address to the container, and frees its port at the end", async () => {
    const port = await freePort();
    await ctrOk(["run", "-d", "--name", "pasta-web", "--network", "pasta", "-p", `${port}:80`, "busybox", "sh", "-c", WWW_PEER], { store });
    // slirp4netns would show 10.0.2.2 here; pasta keeps the client's address.
    const peer = await fetchRetrying(`http://127.0.0.1:${port}/cgi-bin/peer`);
    expect(peer.trim()).toMatch(/^peer=(\[::ffff:)?127\.0\.0\.1\]?$/);
    expect((await ctrOk(["port", "pasta-web"], { store })).stdout).toBe(`80/tcp -> 0.0.0.0:${port}\n`);
    expect((await ctrOk(["ps", "--filter", "name=pasta-web", "--format", "{{.Ports}}"], { store })).stdout).toBe(`0.0.0.0:${port}->80/tcp\n`);
    expect(await portFree(port)).toBe(false);
    await ctrOk(["rm", "-f", "pasta-web"], { store });
    // pasta ends with the container: it would otherwise hold the port.
    expect(await eventually(() => portFree(port))).toBe(true);
  }, 60_000);

  test.if(hasPasta)("outbound: the host's loopback is reached only when asked for (host-gateway)", async () => {
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("hello from the host\n") });
    try {
      // busybox-static 1.35's wget -T crashes: timeout bounds it instead, not
      // as pid 1 (which its own SIGTERM cannot end), hence the "; exit".
      const script = `timeout 5 wget -qO- http://host.containers.internal:${server.port}/; exit $?`;
      const asked = await ctrOk(["run", "--rm", "--network", "pasta", "--add-host", "host.containers.internal:host-gateway", "busybox", "sh", "-c", script], { store });
      expect(asked.stdout).toBe("hello from the host\n");
      // The same name for the same address, given by hand: the gateway is not mapped to the host (pasta --no-map-gw).
      const gateway = await hostDefaultGateway();
      expect(gateway).toBeDefined();
      const blocked = await ctr(["run", "--rm", "--network", "pasta", "--add-host", `host.containers.internal:${gateway}`, "busybox", "sh", "-c", script], { store });
      expect(blocked.code).not.toBe(0);
    } finally {
      server.stop(true);
    }
  }, 60_000);

  test.if(hasPasta)("pasta:OPTIONS reach pasta; a bad one is a clear error", async () => {
    const r = await ctrOk(["run", "--rm", "--network", "pasta:--mtu,1500", "busybox", "cat", "/sys/class/net/eth0/mtu"], { store });
    expect(r.stdout).toBe("1500\n");
    const bad = await ctr(["run", "--rm", "--network", "pasta:--no-such-option", "busybox", "true"], { store });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("--no-such-option");
  }, 60_000);

  test.if(!hasPasta)("without pasta installed, an error naming the package", async () => {
    const r = await ctr(["run", "--rm", "--network", "pasta", "busybox", "true"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('install the "passt" package');
  });
});

/**
 * User-defined networks as the unprivileged user: `network create/ls/
 * inspect/rm/connect/disconnect`, containers reaching each other by name,
 * alias and address, one slirp4netns per network publishing ports of
 * several containers, and what a killed monitor leaves behind.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { ctr, ctrOk, newStore, type TestStore } from "./helpers.ts";
import { ctrRetrying as retryCtr, eventually, fetchRetrying, freePort } from "./wait.ts";

let store: TestStore;
const ctrRetrying = (args: string[]) => retryCtr(args, { store });

beforeAll(async () => {
  store = await newStore();
  await ctrOk(["pull", "busybox"], { store });
  await ctrOk(["pull", "ctrtest/redis"], { store, timeoutMs: 120_000 });
}, 180_000);

afterAll(async () => {
  await ctr(["rm", "-f", "-a"], { store });
  await ctr(["network", "prune", "-f"], { store });
  await store.cleanup();
});

const WWW = (text: string) => `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`;

/** Whether `pid` runs (a zombie waiting for pid 1 to reap it does not). */
function processRuns(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

interface NetworkDoc {
  name: string;
  id: string;
  driver: string;
  subnets: { subnet: string; gateway: string }[];
  internal: boolean;
  labels: Record<string, string>;
  containers: Record<string, { name: string; interfaces: Record<string, { subnets: { ipnet: string; gateway: string }[] }> }>;
}

async function inspectNetwork(name: string): Promise<NetworkDoc> {
  return (JSON.parse((await ctrOk(["network", "inspect", name], { store })).stdout) as NetworkDoc[])[0]!;
}

describe("network create, ls, inspect, rm", () => {
  test("create prints the name; ls and inspect show it; rm removes it", async () => {
    expect((await ctrOk(["network", "create", "--label", "purpose=test", "lsnet"], { store })).stdout).toBe("lsnet\n");
    const doc = await inspectNetwork("lsnet");
    expect(doc).toMatchObject({ name: "lsnet", driver: "bridge", internal: false, labels: { purpose: "test" } });
    expect(doc.id).toMatch(/^[0-9a-f]{64}$/);
    expect(doc.subnets[0]!.subnet).toMatch(/^10\.89\.\d+\.0\/24$/);
    expect(doc.subnets[0]!.gateway).toBe(doc.subnets[0]!.subnet.replace(/0\/24$/, "2"));
    const ls = (await ctrOk(["network", "ls"], { store })).stdout.split("\n");
    expect(ls[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER$/);
    expect(ls).toContainEqual(expect.stringMatching(new RegExp(`^${doc.id.slice(0, 12)}\\s+lsnet\\s+bridge$`)));
    expect((await ctrOk(["network", "ls", "-q", "--filter", "label=purpose=test"], { store })).stdout).toBe("lsnet\n");
    expect((await ctr(["network", "exists", "lsnet"], { store })).code).toBe(0);
    expect((await ctrOk(["network", "rm", "lsnet"], { store })).stdout).toBe("lsnet\n");
    expect((await ctr(["network", "exists", "lsnet"], { store })).code).toBe(1);
    expect((await ctr(["network", "inspect", "lsnet"], { store })).code).toBe(125);
  });

  test("an existing name, an overlapping subnet and a bad name are exit 125 and write nothing", async () => {
    await ctrOk(["network", "create", "--subnet", "10.123.0.0/16", "taken"], { store });
    const before = store.snapshot();
    const again = await ctr(["network", "create", "taken"], { store });
    expect(again.code).toBe(125);
    expect(again.stderr).toContain('network name "taken" already used');
    const overlap = await ctr(["network", "create", "--subnet", "10.123.7.0/24", "other"], { store });
    expect(overlap.code).toBe(125);
    expect(overlap.stderr).toContain('subnet 10.123.7.0/24 overlaps network "taken"');
    const bad = await ctr(["network", "create", "no/slash"], { store });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('invalid network name "no/slash"');
    const hostBits = await ctr(["network", "create", "--subnet", "10.124.0.1/24", "other"], { store });
    expect(hostBits.code).toBe(125);
    expect(store.snapshot()).toEqual(before);
    await ctrOk(["network", "rm", "taken"], { store });
  });

  test("a container on a network that does not exist is an error that creates nothing", async () => {
    const before = (await ctrOk(["ps", "-a", "-q"], { store })).stdout;
    const r = await ctr(["run", "--rm", "--network", "no-such-net", "busybox", "true"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('"no-such-net"');
    expect((await ctrOk(["ps", "-a", "-q"], { store })).stdout).toBe(before);
  });

  test("rm of a network in use is refused (exit 125); rm -f removes its containers first", async () => {
    await ctrOk(["network", "create", "busy"], { store });
    await ctrOk(["create", "--name", "busy-user", "--network", "busy", "busybox", "true"], { store });
    const r = await ctr(["network", "rm", "busy"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('network "busy" is in use by container busy-user');
    expect((await ctr(["network", "exists", "busy"], { store })).code).toBe(0);
    expect((await ctrOk(["network", "rm", "-f", "busy"], { store })).stdout).toBe("busy\n");
    expect((await ctr(["inspect", "busy-user"], { store })).code).not.toBe(0);
    expect((await ctr(["network", "exists", "busy"], { store })).code).toBe(1);
  });

  test("-p on an internal network is refused", async () => {
    await ctrOk(["network", "create", "--internal", "inside"], { store });
    const r = await ctr(["run", "--rm", "--network", "inside", "-p", "8080:80", "busybox", "true"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('cannot publish ports on internal network "inside"');
    await ctrOk(["network", "rm", "inside"], { store });
  });
});

describe("containers on a user-defined network", () => {
  test("redis by name: redis-cli -h redis answers PONG and keeps a value; a web app on a published port counts visits in it", async () => {
    await ctrOk(["network", "create", "redis-net"], { store });
    await ctrOk(["run", "-d", "--network", "redis-net", "--name", "redis", "ctrtest/redis"], { store });
    const ping = await ctrRetrying(["run", "--rm", "--network", "redis-net", "ctrtest/redis", "redis-cli", "-h", "redis", "ping"]);
    expect(ping.stderr).toBe("");
    expect(ping.stdout).toBe("PONG\n");
    expect((await ctrOk(["run", "--rm", "--network", "redis-net", "ctrtest/redis", "redis-cli", "-h", "redis", "set", "greeting", "hello"], { store })).stdout).toBe("OK\n");
    expect((await ctrOk(["run", "--rm", "--network", "redis-net", "ctrtest/redis", "redis-cli", "-h", "redis", "get", "greeting"], { store })).stdout).toBe("hello\n");

    // The web app: browsed on a published port, it counts visits in "redis:6379".
    const hostPort = await freePort();
    const cgi = 'printf "#!/bin/sh\\necho Content-Type: text/plain\\necho\\nexec redis-cli -h redis -p 6379 incr visits\\n"';
    const app = `mkdir -p /www/cgi-bin && ${cgi} > /www/cgi-bin/visits && chmod 755 /www/cgi-bin/visits && exec httpd -f -p 80 -h /www`;
    await ctrOk(["run", "-d", "--network", "redis-net", "-p", `127.0.0.1:${hostPort}:80`, "--name", "webapp", "ctrtest/redis", "sh", "-c", app], { store });
    expect(await fetchRetrying(`http://127.0.0.1:${hostPort}/cgi-bin/visits`)).toBe("1\n");
    expect(await fetchRetrying(`http://127.0.0.1:${hostPort}/cgi-bin/visits`)).toBe("2\n");
    await ctrOk(["rm", "-f", "redis", "webapp"], { store });
    await ctrOk(["network", "rm", "redis-net"], { store });
  }, 90_000);

  test("two web servers on port 80: one published, both reachable by name and alias; inspect and ps show the network", async () => {
    const hostPort = await freePort();
    await ctrOk(["network", "create", "--subnet", "10.89.77.0/24", "web-net"], { store });
    await ctrOk(["run", "-d", "--network", "web-net", "--name", "web1", "-p", `127.0.0.1:${hostPort}:80`, "busybox", "sh", "-c", WWW("one")], { store });
    await ctrOk(["run", "-d", "--network", "web-net", "--name", "web2", "--network-alias", "second", "busybox", "sh", "-c", WWW("two")], { store });
    expect(await fetchRetrying(`http://127.0.0.1:${hostPort}/`)).toBe("one\n");
    expect((await ctrOk(["port", "web1"], { store })).stdout).toBe(`80/tcp -> 127.0.0.1:${hostPort}\n`);

    expect((await ctrRetrying(["exec", "web2", "wget", "-q", "-O", "-", "http://web1/"])).stdout).toBe("one\n");
    expect((await ctrRetrying(["exec", "web1", "wget", "-q", "-O", "-", "http://web2/"])).stdout).toBe("two\n");
    expect((await ctrRetrying(["exec", "web1", "wget", "-q", "-O", "-", "http://second/"])).stdout).toBe("two\n");

    const [doc] = JSON.parse((await ctrOk(["inspect", "web2"], { store })).stdout) as { NetworkSettings: { Networks: Record<string, { IPAddress: string; Gateway: string; IPPrefixLen: number; Aliases: string[]; NetworkID: string }> } }[];
    const ep = doc!.NetworkSettings.Networks["web-net"]!;
    expect(ep).toMatchObject({ Gateway: "10.89.77.2", IPPrefixLen: 24, NetworkID: (await inspectNetwork("web-net")).id });
    expect(ep.IPAddress).toMatch(/^10\.89\.77\.\d+$/);
    expect(ep.Aliases).toContain("second");
    // By address too, from the other container.
    expect((await ctrOk(["exec", "web1", "wget", "-q", "-O", "-", `http://${ep.IPAddress}/`], { store })).stdout).toBe("two\n");
    expect((await ctrOk(["ps", "--filter", "name=^web1$", "--format", "{{.Networks}}"], { store })).stdout).toBe("[web-net]\n");
    const net = await inspectNetwork("web-net");
    expect(Object.values(net.containers).map((c) => c.name).sort()).toEqual(["web1", "web2"]);

    // A container that stops leaves its peers' hosts files.
    expect((await ctrOk(["exec", "web1", "cat", "/etc/hosts"], { store })).stdout).toMatch(/\tweb2 /);
    await ctrOk(["stop", "-t", "0", "web2"], { store });
    expect(await eventually(async () => !(await ctrOk(["exec", "web1", "cat", "/etc/hosts"], { store })).stdout.includes("web2"))).toBe(true);
    // And so does one that ends by itself (its monitor's exit command tells the peers).
    await ctrOk(["run", "-d", "--network", "web-net", "--name", "brief", "busybox", "sleep", "1"], { store });
    expect(await eventually(async () => (await ctrOk(["exec", "web1", "cat", "/etc/hosts"], { store })).stdout.includes("\tbrief "))).toBe(true);
    expect(await eventually(async () => !(await ctrOk(["exec", "web1", "cat", "/etc/hosts"], { store })).stdout.includes("brief"))).toBe(true);
    await ctrOk(["rm", "-f", "web1", "web2", "brief"], { store });
    await ctrOk(["network", "rm", "web-net"], { store });
  }, 90_000);

  test("network connect and disconnect a running container", async () => {
    await ctrOk(["network", "create", "--subnet", "10.89.81.0/24", "front"], { store });
    await ctrOk(["network", "create", "--subnet", "10.89.82.0/24", "back"], { store });
    await ctrOk(["run", "-d", "--network", "front", "--name", "app", "busybox", "sh", "-c", WWW("app")], { store });
    await ctrOk(["run", "-d", "--network", "back", "--name", "db", "busybox", "sh", "-c", WWW("db")], { store });
    // Not reachable yet: busybox's wget -T crashes, so `timeout` bounds it, and
    // the check is on its words, not just its exit status (a crash exits non-zero too).
    const before = await ctr(["exec", "app", "sh", "-c", "timeout 3 wget -q -O - http://db/; echo exit=$?"], { store });
    expect(before.stdout).not.toContain("db\n");
    expect(before.stdout).toMatch(/exit=(1|143)\n$/);

    await ctrOk(["network", "connect", "--alias", "application", "back", "app"], { store });
    expect((await ctrOk(["exec", "app", "ip", "-o", "-4", "addr", "show", "eth1"], { store })).stdout).toContain("inet 10.89.82.");
    expect((await ctrRetrying(["exec", "app", "wget", "-q", "-O", "-", "http://db/"])).stdout).toBe("db\n");
    expect((await ctrRetrying(["exec", "db", "wget", "-q", "-O", "-", "http://application/"])).stdout).toBe("app\n");
    expect((await ctrOk(["ps", "--filter", "name=^app$", "--format", "{{.Networks}}"], { store })).stdout).toBe("[front back]\n");

    await ctrOk(["network", "disconnect", "back", "app"], { store });
    expect((await ctrOk(["exec", "app", "ls", "/sys/class/net"], { store })).stdout.trim().split(/\s+/).sort()).toEqual(["eth0", "lo"]);
    expect(await eventually(async () => !(await ctrOk(["exec", "db", "cat", "/etc/hosts"], { store })).stdout.includes("app"))).toBe(true);
    const [doc] = JSON.parse((await ctrOk(["inspect", "app"], { store })).stdout) as { NetworkSettings: { Networks: Record<string, unknown> } }[];
    expect(Object.keys(doc!.NetworkSettings.Networks)).toEqual(["front"]);
    await ctrOk(["network", "rm", "-f", "front", "back"], { store });
  }, 90_000);

  test("--link NAME:ALIAS and --dns; outbound traffic through the network's slirp4netns; network rm ends the holder", async () => {
    await ctrOk(["network", "create", "link-net"], { store });
    const net = await inspectNetwork("link-net");
    await ctrOk(["run", "-d", "--network", "link-net", "--name", "target", "busybox", "sh", "-c", WWW("target")], { store });
    const script = "cat /etc/resolv.conf; for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://tgt/ && exit 0; sleep 0.5; done; exit 1";
    const r = await ctrOk(["run", "--rm", "--network", "link-net", "--link", "target:tgt", "--dns", "10.11.12.13", "busybox", "sh", "-c", script], { store });
    expect(r.stdout).toContain("nameserver 10.11.12.13\n");
    expect(r.stdout).toEndWith("target\n");
    const linkBad = await ctr(["run", "--rm", "--network", "link-net", "--link", "nobody:x", "busybox", "true"], { store });
    expect(linkBad.code).toBe(125);
    expect(linkBad.stderr).toContain('invalid --link "nobody:x"');

    // The host's own (non-loopback) address, reached through slirp4netns.
    const hostIp = Object.values(networkInterfaces()).flat().find((a) => a && a.family === "IPv4" && !a.internal)?.address;
    expect(hostIp).toBeDefined();
    const server = Bun.serve({ hostname: "0.0.0.0", port: 0, fetch: () => new Response("hello from the host\n") });
    try {
      const out = await ctrOk(["run", "--rm", "--network", "link-net", "busybox", "wget", "-q", "-O", "-", `http://${hostIp}:${server.port}/`], { store });
      expect(out.stdout).toBe("hello from the host\n");
    } finally {
      server.stop(true);
    }

    const holderPid = Number(readFileSync(join(store.runtimeDir, "ctr", "networks", net.id.slice(0, 12), "holder.pid"), "utf8"));
    expect(processRuns(holderPid)).toBe(true);
    await ctrOk(["network", "rm", "-f", "link-net"], { store });
    expect(await eventually(() => !processRuns(holderPid))).toBe(true);
    expect((await ctr(["inspect", "target"], { store })).code).not.toBe(0);
  }, 90_000);

  test("a published UDP port reaches a container on a network and its replies come back", async () => {
    // slirp4netns sends UDP replies for a client on 127.0.0.1 through its
    // host-loopback path, which --disable-host-loopback closes: the client
    // uses the host's own address (see the issue notes).
    const hostIp = Object.values(networkInterfaces()).flat().find((a) => a && a.family === "IPv4" && !a.internal)?.address;
    expect(hostIp).toBeDefined();
    const hostPort = await freePort();
    await ctrOk(["network", "create", "udp-net"], { store });
    await ctrOk(["run", "-d", "--network", "udp-net", "--name", "udp", "-p", `${hostIp}:${hostPort}:5353/udp`, "ctrtest/redis", "socat", "UDP4-LISTEN:5353,fork", "EXEC:cat"], { store });
    const sock = createSocket("udp4");
    try {
      const reply = new Promise<string>((resolve) => sock.once("message", (msg) => resolve(msg.toString())));
      let answer: string | undefined;
      // Datagrams sent before socat listens are lost: send until one is echoed.
      for (let i = 0; i < 50 && answer === undefined; i++) {
        sock.send("ping\n", hostPort, hostIp);
        answer = await Promise.race([reply, Bun.sleep(300).then(() => undefined)]);
      }
      expect(answer).toBe("ping\n");
    } finally {
      sock.close();
    }
    await ctrOk(["network", "rm", "-f", "udp-net"], { store });
  }, 60_000);

  test("network prune removes the networks no container uses", async () => {
    await ctrOk(["network", "create", "unused-net"], { store });
    await ctrOk(["network", "create", "used-net"], { store });
    await ctrOk(["create", "--name", "prune-user", "--network", "used-net", "busybox", "true"], { store });
    expect((await ctrOk(["network", "prune", "-f"], { store })).stdout).toBe("unused-net\n");
    expect((await ctr(["network", "exists", "used-net"], { store })).code).toBe(0);
    expect((await ctrOk(["ps", "-a", "--filter", "network=used-net", "--format", "{{.Names}}"], { store })).stdout).toBe("prune-user\n");
    await ctrOk(["network", "rm", "-f", "used-net"], { store });
  });

  test("killing a container's monitor frees its published port and its address for the next container", async () => {
    const hostPort = await freePort();
    await ctrOk(["network", "create", "--subnet", "10.89.91.0/24", "crash-net"], { store });
    const args = ["--network", "crash-net", "--ip", "10.89.91.50", "-p", `127.0.0.1:${hostPort}:80`, "busybox", "sh", "-c"];
    await ctrOk(["run", "-d", "--name", "victim", ...args, WWW("first")], { store });
    expect(await fetchRetrying(`http://127.0.0.1:${hostPort}/`)).toBe("first\n");
    const [doc] = JSON.parse((await ctrOk(["inspect", "victim"], { store })).stdout) as { State: { Pid: number; ConmonPid: number } }[];
    process.kill(doc!.State.ConmonPid, "SIGKILL");
    process.kill(doc!.State.Pid, "SIGKILL");
    expect(await eventually(async () => (await ctrOk(["inspect", "--format", "{{.State.Running}}", "victim"], { store })).stdout.trim() === "false")).toBe(true);

    // Same address, same host port: both must have been given back.
    await ctrOk(["run", "-d", "--name", "successor", ...args, WWW("second")], { store });
    // The first container is dead: any answer is the successor's.
    expect(await fetchRetrying(`http://127.0.0.1:${hostPort}/`)).toBe("second\n");
    const [next] = JSON.parse((await ctrOk(["inspect", "successor"], { store })).stdout) as { NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }[];
    expect(next!.NetworkSettings.Networks["crash-net"]!.IPAddress).toBe("10.89.91.50");
    await ctrOk(["network", "rm", "-f", "crash-net"], { store });
  }, 90_000);
});

/**
 * The default network as the unprivileged user: one network, `podman`
 * (10.88.0.0/24), served by ONE holder and ONE slirp4netns for every
 * container on it, so that a container's only helper is its shim.
 * Containers reach each other by address but not by name, as on docker's
 * default bridge. Where it cannot serve (`--userns=keep-id`), a container
 * gets a slirp4netns of its own.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { ctr, ctrOk, newStore, slirpFor, type TestStore } from "./helpers.ts";
import { ctrRetrying as retryCtr, eventually, fetchRetrying, freePort } from "./wait.ts";

let store: TestStore;
const ctrRetrying = (args: string[]) => retryCtr(args, { store });

beforeAll(async () => {
  store = await newStore();
  await ctrOk(["pull", "busybox"], { store });
});

afterAll(async () => {
  await ctr(["rm", "-f", "-a"], { store });
  await store.cleanup();
});

const WWW = (text: string) => `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`;

interface Helper {
  pid: number;
  comm: string;
}

/**
 * Our processes in the host pid namespace that belong to this test's
 * store: their command line or working directory names it (the shims, the
 * holders, every slirp4netns ctr starts). Other tests running as the same
 * user meanwhile have other stores and do not count.
 */
function storeHelpers(): Helper[] {
  const hostNs = readlinkSync("/proc/self/ns/pid");
  const out: Helper[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== hostNs) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2))) continue;
      if (cmdline.includes(store.root) || cwd.startsWith(store.root)) out.push({ pid: Number(entry), comm: readFileSync(`/proc/${entry}/comm`, "utf8").trim() });
    } catch {
      // not ours, or gone meanwhile
    }
  }
  return out;
}

async function ipOf(name: string): Promise<string> {
  return (await ctrOk(["inspect", "--format", "{{.NetworkSettings.Networks.podman.IPAddress}}", name], { store })).stdout.trim();
}

describe("the default network podman", () => {
  test("network ls and inspect show it; rm, prune and create cannot touch it", async () => {
    const ls = (await ctrOk(["network", "ls"], { store })).stdout.split("\n");
    expect(ls).toContainEqual(expect.stringMatching(/^2f259bab93aa\s+podman\s+bridge$/));
    const [doc] = JSON.parse((await ctrOk(["network", "inspect", "podman"], { store })).stdout) as { name: string; driver: string; subnets: { subnet: string; gateway: string }[] }[];
    expect(doc).toMatchObject({ name: "podman", driver: "bridge", subnets: [{ subnet: "10.88.0.0/24", gateway: "10.88.0.2" }] });
    expect((await ctr(["network", "exists", "podman"], { store })).code).toBe(0);

    const rm = await ctr(["network", "rm", "podman"], { store });
    expect(rm.code).toBe(125);
    expect(rm.stderr).toContain("default network podman cannot be removed");
    expect((await ctr(["network", "rm", "-f", "podman"], { store })).code).toBe(125);
    expect((await ctrOk(["network", "prune", "-f"], { store })).stdout).not.toContain("podman");
    const create = await ctr(["network", "create", "podman"], { store });
    expect(create.code).toBe(125);
    expect(create.stderr).toContain('network name "podman" already used');
    const overlap = await ctr(["network", "create", "--subnet", "10.88.0.0/16", "wide"], { store });
    expect(overlap.code).toBe(125);
    expect(overlap.stderr).toContain('overlaps network "podman"');
    expect((await ctr(["network", "exists", "podman"], { store })).code).toBe(0);
  });

  test("its created time is the store's, the same at every inspect", async () => {
    const created = async () => (JSON.parse((await ctrOk(["network", "inspect", "podman"], { store })).stdout) as { created: string }[])[0]!.created;
    const first = await created();
    // The store's directory came with the first command that used it.
    expect(Date.parse(first)).toBe(Math.trunc(statSync(store.dataDir).birthtimeMs));
    expect(Date.parse(first)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(first)).toBeGreaterThan(Date.parse("2020-01-01T00:00:00Z"));
    expect(await created()).toBe(first);
    const ls = (await ctrOk(["network", "ls", "--format", "{{.Name}} {{.Created}}"], { store })).stdout;
    expect(ls).toContain(`podman ${first}`);
  });

  test("no --network, bridge, podman, default and private all put the container on it", async () => {
    for (const mode of [[], ["--network", "bridge"], ["--network", "podman"], ["--network", "default"], ["--net", "private"]]) {
      const r = await ctrOk(["run", "--rm", ...mode, "busybox", "ip", "-o", "-4", "addr", "show", "eth0"], { store });
      expect(r.stdout).toMatch(/inet 10\.88\.0\.\d+\/24/);
    }
  }, 60_000);

  test("two containers reach each other by address but not by name; ps and inspect show the network", async () => {
    await ctrOk(["run", "-d", "--name", "d-web", "busybox", "sh", "-c", WWW("web")], { store });
    await ctrOk(["run", "-d", "--name", "d-client", "busybox", "sleep", "1000"], { store });
    const ip = await ipOf("d-web");
    expect(ip).toMatch(/^10\.88\.0\.\d+$/);
    expect(await ipOf("d-client")).not.toBe(ip);
    expect((await ctrRetrying(["exec", "d-client", "wget", "-q", "-O", "-", `http://${ip}/`])).stdout).toBe("web\n");

    const byName = await ctr(["exec", "d-client", "wget", "-q", "-O", "-", "http://d-web/"], { store });
    expect(byName.code).not.toBe(0);
    expect(byName.stderr).toContain("bad address 'd-web'");
    const hosts = (await ctrOk(["exec", "d-client", "cat", "/etc/hosts"], { store })).stdout;
    expect(hosts).not.toContain("d-web");
    expect(hosts).not.toContain(ip);

    expect((await ctrOk(["ps", "--filter", "name=^d-web$", "--format", "{{.Networks}}"], { store })).stdout).toBe("[podman]\n");
    expect((await ctrOk(["ps", "-q", "--filter", "network=podman"], { store })).stdout.trim().split("\n")).toHaveLength(2);
    const [doc] = JSON.parse((await ctrOk(["inspect", "d-web"], { store })).stdout) as { HostConfig: { NetworkMode: string }; NetworkSettings: { Networks: Record<string, { Gateway: string; IPPrefixLen: number }> } }[];
    expect(doc!.HostConfig.NetworkMode).toBe("bridge");
    expect(doc!.NetworkSettings.Networks.podman).toMatchObject({ Gateway: "10.88.0.2", IPPrefixLen: 24 });
    await ctrOk(["rm", "-f", "d-web", "d-client"], { store });
  }, 60_000);

  test("--link on the default network names only the linked container", async () => {
    await ctrOk(["run", "-d", "--name", "d-linked", "busybox", "sh", "-c", WWW("linked")], { store });
    const r = await ctrRetrying(["run", "--rm", "--link", "d-linked:db", "busybox", "wget", "-q", "-O", "-", "http://db/"]);
    expect(r.stdout).toBe("linked\n");
    await ctrOk(["rm", "-f", "d-linked"], { store });
  }, 60_000);

  test("an idle container's only helper is its shim: one slirp4netns serves them all, -p included", async () => {
    // The network's holder and slirp4netns start with its first container.
    await ctrOk(["run", "--rm", "busybox", "true"], { store });
    const before = storeHelpers();
    const slirps = before.filter((h) => h.comm === "slirp4netns");
    expect(slirps).toHaveLength(1);

    const hostPort = await freePort();
    const id = (await ctrOk(["run", "-d", "--name", "d-idle", "-p", `127.0.0.1:${hostPort}:80`, "busybox", "sh", "-c", WWW("idle")], { store })).stdout.trim();
    expect(await fetchRetrying(`http://127.0.0.1:${hostPort}/`)).toBe("idle\n");
    await ctrOk(["run", "-d", "--name", "d-idle2", "busybox", "sleep", "1000"], { store });
    const after = storeHelpers();
    const added = after.filter((h) => !before.some((b) => b.pid === h.pid));
    // One shim per container (the monitor), nothing else: no slirp4netns of their own.
    expect(added.map((h) => h.comm.replace(/-[0-9a-f]+$/, "")).sort()).toEqual(["ctr-shim", "ctr-shim"]);
    expect(after.filter((h) => h.comm === "slirp4netns").map((h) => h.pid)).toEqual(slirps.map((h) => h.pid));
    const [doc] = JSON.parse((await ctrOk(["inspect", id], { store })).stdout) as { State: { ConmonPid: number } }[];
    expect(added.map((h) => h.pid)).toContain(doc!.State.ConmonPid);
    await ctrOk(["rm", "-f", "d-idle", "d-idle2"], { store });
  }, 60_000);

  test("killing a container's monitor frees its published port for the next container", async () => {
    const hostPort = await freePort();
    const args = ["-p", `127.0.0.1:${hostPort}:80`, "busybox", "sh", "-c"];
    await ctrOk(["run", "-d", "--name", "d-victim", ...args, WWW("first")], { store });
    expect(await fetchRetrying(`http://127.0.0.1:${hostPort}/`)).toBe("first\n");
    const [doc] = JSON.parse((await ctrOk(["inspect", "d-victim"], { store })).stdout) as { State: { Pid: number; ConmonPid: number } }[];
    process.kill(doc!.State.ConmonPid, "SIGKILL");
    process.kill(doc!.State.Pid, "SIGKILL");
    expect(await eventually(async () => (await ctrOk(["inspect", "--format", "{{.State.Running}}", "d-victim"], { store })).stdout.trim() === "false")).toBe(true);
    // The shared slirp4netns still forwards the port: the next run must take it back.
    await ctrOk(["run", "-d", "--name", "d-successor", ...args, WWW("second")], { store });
    expect(await fetchRetrying(`http://127.0.0.1:${hostPort}/`)).toBe("second\n");
    await ctrOk(["rm", "-f", "d-victim", "d-successor"], { store });
  }, 60_000);
});

describe("where the default network cannot serve", () => {
  test("--userns=keep-id gets a slirp4netns of its own, with outbound access and published ports", async () => {
    const hostIp = Object.values(networkInterfaces()).flat().find((a) => a && a.family === "IPv4" && !a.internal)?.address;
    expect(hostIp).toBeDefined();
    const server = Bun.serve({ hostname: "0.0.0.0", port: 0, fetch: () => new Response("hello from the host\n") });
    try {
      const out = await ctrOk(["run", "--rm", "--userns=keep-id", "busybox", "sh", "-c", `ip -o -4 addr show tap0; wget -q -O - http://${hostIp}:${server.port}/`], { store });
      expect(out.stdout).toContain("inet 10.0.2.100/24");
      expect(out.stdout).toEndWith("hello from the host\n");
    } finally {
      server.stop(true);
    }

    const hostPort = await freePort();
    // Not root in there: a port above 1023.
    await ctrOk(["run", "-d", "--name", "d-keepid", "--userns=keep-id", "-p", `127.0.0.1:${hostPort}:8080`, "busybox", "sh", "-c", "mkdir -p /tmp/www && echo keep-id > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"], { store });
    expect(await fetchRetrying(`http://127.0.0.1:${hostPort}/`)).toBe("keep-id\n");
    const [doc] = JSON.parse((await ctrOk(["inspect", "d-keepid"], { store })).stdout) as { State: { Pid: number }; HostConfig: { NetworkMode: string } }[];
    expect(doc!.HostConfig.NetworkMode).toBe("slirp4netns");
    expect(slirpFor(doc!.State.Pid)).toHaveLength(1);
    await ctrOk(["rm", "-f", "d-keepid"], { store });
  }, 60_000);

  test("--network slirp4netns still gives a container its own slirp4netns", async () => {
    await ctrOk(["run", "-d", "--name", "d-own", "--network", "slirp4netns", "busybox", "sleep", "1000"], { store });
    const [doc] = JSON.parse((await ctrOk(["inspect", "d-own"], { store })).stdout) as { State: { Pid: number } }[];
    expect(slirpFor(doc!.State.Pid)).toHaveLength(1);
    await ctrOk(["rm", "-f", "d-own"], { store });
  }, 30_000);
});

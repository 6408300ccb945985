/**
 * The shim side of user-defined networks, end to end with the real shim,
 * kernel and slirp4netns (see shim/PROTOCOL.md, "Networks"): one holder
 * for 10.89.77.0/24, two containers joined to its user namespace with
 * attachments, published ports through the network's API socket, and
 * net-attach / net-detach on a running container.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { HOLDER_FILES, HOSTFWD_FILE, shimErrorText, type HostForwardRecord, type NetAttachment } from "../src/runtime/shim.ts";
import { alive, eventually, exists, makeRootfs, netAttach, netDetach, newUsernsConfig, processesWithArg, startContainer, startHolder, waitFor, type Container, type ContainerOptions } from "./netshim.ts";

const SUBNET = "10.89.77.0/24";
const A_IP = "10.89.77.4";
const B_IP = "10.89.77.5";
const T = 60_000;
// busybox 1.35's wget crashes with -T (timeout): its default is used.

/** A port unlikely to be taken by another engineer's test. */
const randomPort = () => 40000 + Math.floor(Math.random() * 20000);

/** The host's first non-loopback IPv4 address: what a container reaches through slirp4netns. */
function hostAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return undefined;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: "127.0.0.1", port });
    sock.once("connect", () => {
      sock.destroy();
      resolve(false);
    });
    sock.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "ECONNREFUSED"));
  });
}

const root = mkdtempSync(join(tmpdir(), "ctr-netshim-"));
const holderDir = join(root, "net");
const publishedPort = randomPort();
let holderPid = 0;
let slirpPid = 0;
let a: Container;
let b: Container;
let hostServer: ReturnType<typeof Bun.serve> | undefined;

function attachment(name: string, ip: string, extra: Partial<NetAttachment> = {}): NetAttachment {
  return {
    netns: `/proc/${holderPid}/ns/net`,
    bridge: "br0",
    hostInterface: `ctrt${name}${process.pid % 10000}`.slice(0, 15),
    interface: "eth0",
    address: `${ip}/24`,
    gateway: "10.89.77.2",
    mtu: 65520,
    ...extra,
  };
}

/** B: httpd on port 80, published on 127.0.0.1:publishedPort through the network's slirp4netns. */
function bOptions(): ContainerOptions {
  return {
    dir: join(root, "b"),
    rootfs: join(root, "rootfs"),
    userns: `/proc/${holderPid}/ns/user`,
    args: ["sh", "-c", "echo hello-B > /www/index.html && exec httpd -f -p 80 -h /www"],
    mounts: [{ destination: "/www", type: "tmpfs", source: "tmpfs", options: ["mode=755"] }],
    attachments: [attachment("b", B_IP)],
    apiSocket: join(holderDir, HOLDER_FILES.apiSocket),
    requests: [
      JSON.stringify({ execute: "add_hostfwd", arguments: { proto: "tcp", host_addr: "127.0.0.1", host_port: publishedPort, guest_addr: B_IP, guest_port: 80 } }),
    ],
  };
}

beforeAll(async () => {
  const rootfs = makeRootfs(join(root, "rootfs"));
  const holder = await startHolder(holderDir, newUsernsConfig(SUBNET));
  if (holder.code !== 0 || !holder.pid) throw new Error(`net-holder failed (${holder.code}): ${holder.stderr}`);
  holderPid = holder.pid;
  slirpPid = Number(readFileSync(join(holderDir, HOLDER_FILES.slirpPid), "utf8"));
  b = await startContainer(bOptions());
  a = await startContainer({ dir: join(root, "a"), rootfs, userns: `/proc/${holderPid}/ns/user`, args: ["sleep", "600"], attachments: [attachment("a", A_IP)] });
}, T);

afterAll(() => {
  hostServer?.stop(true);
  for (const c of [a, b]) if (c) try { process.kill(c.pid, "SIGKILL"); } catch {}
  if (holderPid) try { process.kill(holderPid, "SIGKILL"); } catch {}
  // CTR_NETSHIM_KEEP=1 keeps the bundles and logs for a look.
  if (!process.env.CTR_NETSHIM_KEEP) rmSync(root, { recursive: true, force: true });
});

describe("ctr-shim on a user-defined network", () => {
  test("each container has eth0 with its address and the default route via slirp4netns's router", async () => {
    const ra = await a.exec(["ip", "-4", "addr", "show", "eth0"]);
    expect(ra.code).toBe(0);
    expect(ra.stdout).toContain(`inet ${A_IP}/24`);
    expect(ra.stdout).toContain("mtu 65520");
    const rb = await b.exec(["ip", "-4", "addr", "show", "eth0"]);
    expect(rb.stdout).toContain(`inet ${B_IP}/24`);
    const route = await a.exec(["ip", "route"]);
    expect(route.stdout).toContain("default via 10.89.77.2 dev eth0");
    // Without a mac, as docker: 02:42 and the address, so a restart keeps the ARP caches right.
    expect((await a.exec(["ip", "link", "show", "eth0"])).stdout).toContain("link/ether 02:42:0a:59:4d:04");
    const lo = await a.exec(["ip", "link", "show", "lo"]);
    expect(lo.stdout).toContain("UP");
  }, T);

  test("a container reaches another's httpd by IP over the bridge", async () => {
    // httpd may still be starting: B is ready once its shell runs.
    const r = await eventually(() => a.exec(["wget", "-q", "-O", "-", `http://${B_IP}/`]), (r) => r.code === 0);
    expect(r).toMatchObject({ code: 0, stdout: "hello-B\n" });
  }, T);

  test("a container reaches a server on the host's non-loopback address through slirp4netns", async () => {
    const host = hostAddress();
    expect(host).toBeDefined();
    hostServer = Bun.serve({ hostname: host!, port: 0, fetch: () => new Response("host-hello") });
    const r = await a.exec(["wget", "-q", "-O", "-", `http://${host}:${hostServer.port}/`]);
    expect(r).toMatchObject({ code: 0, stdout: "host-hello" });
  }, T);

  test("a port published with --net-api-socket answers on 127.0.0.1 and is recorded in hostfwd.json", async () => {
    const get = () => fetch(`http://127.0.0.1:${publishedPort}/`, { signal: AbortSignal.timeout(5000) }).then((res) => res.text(), (err: Error) => `failed: ${err.message}`);
    expect(await eventually(get, (text) => text === "hello-B\n")).toBe("hello-B\n");
    const record = JSON.parse(readFileSync(join(b.stateDir, HOSTFWD_FILE), "utf8")) as HostForwardRecord;
    expect(record).toEqual([{ socket: join(holderDir, HOLDER_FILES.apiSocket), id: expect.any(Number) }]);
  }, T);

  test("net-attach adds an interface to a running container and net-detach removes it", async () => {
    const extra = attachment("x", "10.89.77.9", { interface: "eth1", gateway: undefined, mac: "02:00:0a:59:4d:09" });
    expect(await netAttach(a.pid, extra)).toMatchObject({ code: 0, stderr: "" });
    const shown = await a.exec(["ip", "addr", "show", "eth1"]);
    expect(shown.stdout).toContain("inet 10.89.77.9/24");
    expect(shown.stdout).toContain("02:00:0a:59:4d:09");
    // Reachable from the other container over the bridge.
    const ping = await b.exec(["wget", "-q", "-O", "-", "http://10.89.77.9:1/"]);
    expect(ping.stderr).toContain("Connection refused");

    const again = await netAttach(a.pid, extra);
    expect(again.code).toBe(125);
    expect(shimErrorText(again.stderr)).toBe("network interface eth1: cannot create the veth pair: the container has an interface eth1 already");
    const clash = await netAttach(a.pid, { ...extra, interface: "eth2" });
    expect(shimErrorText(clash.stderr)).toBe(
      `network interface eth2: cannot create the veth pair: ${extra.hostInterface} exists already in /proc/${holderPid}/ns/net`,
    );
    expect((await a.exec(["ip", "link", "show", "eth2"])).code).not.toBe(0);

    expect(await netDetach(a.pid, "eth1")).toMatchObject({ code: 0, stderr: "" });
    const gone = await a.exec(["ip", "link", "show", "eth1"]);
    expect(gone.code).not.toBe(0);
    const twice = await netDetach(a.pid, "eth1");
    expect(twice.code).toBe(125);
    expect(shimErrorText(twice.stderr)).toBe("network interface eth1: no such interface");
  }, T);

  test("the published port is removed when the container exits", async () => {
    process.kill(b.pid, "SIGKILL");
    expect(await waitFor(() => exists(join(b.stateDir, "exit")))).toBe(true);
    expect(exists(join(b.stateDir, HOSTFWD_FILE))).toBe(false);
    expect(await refused(publishedPort)).toBe(true);
  }, T);

  test("a container started again at once gets its interface and its published port back", async () => {
    b = await startContainer({ ...bOptions(), dir: join(root, "b2") });
    const get = () => fetch(`http://127.0.0.1:${publishedPort}/`, { signal: AbortSignal.timeout(5000) }).then((res) => res.text(), (err: Error) => `failed: ${err.message}`);
    expect(await eventually(get, (text) => text === "hello-B\n")).toBe("hello-B\n");
    const r = await b.exec(["ip", "-4", "addr", "show", "eth0"]);
    expect(r.stdout).toContain(`inet ${B_IP}/24`);
  }, T);

  test("a container joining another's network namespace by path sees its interface", async () => {
    const c = await startContainer({
      dir: join(root, "joined"),
      rootfs: join(root, "rootfs"),
      userns: `/proc/${holderPid}/ns/user`,
      netns: `/proc/${a.pid}/ns/net`,
      args: ["sleep", "600"],
      attachments: [],
    });
    try {
      const r = await c.exec(["ip", "-4", "addr", "show", "eth0"]);
      expect(r.stdout).toContain(`inet ${A_IP}/24`);
      // Its own pid and mount namespaces all the same.
      const ps = await c.exec(["ls", "/proc"]);
      expect(ps.stdout.split(/\s+/)).toContain("1");
      expect(readFileSync(join(c.stateDir, "pid"), "utf8")).toBe(`${c.pid}\n`);
    } finally {
      process.kill(c.pid, "SIGKILL");
    }
  }, T);

  test("a config joining a user namespace that is gone fails with the path", async () => {
    const bad = await startContainer({
      dir: join(root, "c"),
      rootfs: join(root, "rootfs"),
      userns: "/proc/0/ns/user",
      args: ["true"],
      attachments: [],
    }).catch((err: Error) => err);
    expect(bad).toBeInstanceOf(Error);
    expect((bad as Error).message).toContain("/proc/0/ns/user");
  }, T);

  test("killing the holder ends its slirp4netns", async () => {
    process.kill(a.pid, "SIGKILL");
    expect(alive(slirpPid)).toBe(true);
    process.kill(holderPid, "SIGTERM");
    expect(await waitFor(() => !alive(holderPid))).toBe(true);
    expect(await waitFor(() => !alive(slirpPid))).toBe(true);
  }, T);
});

describe("ctr-shim net-holder failures", () => {
  test("a slirp4netns that cannot start is an error and leaves nothing running", async () => {
    const dir = join(root, "bad-net");
    const config = newUsernsConfig("10.89.78.0/24");
    config.slirp!.args.push("--no-such-option");
    const r = await startHolder(dir, config);
    expect(r.code).toBe(125);
    expect(r.stdout).toBe("");
    expect(r.stderr).toStartWith("error: /usr/bin/slirp4netns could not start");
    expect(exists(join(dir, HOLDER_FILES.pid))).toBe(false);
    // The holder (same command line) and slirp4netns are gone.
    expect(await waitFor(() => processesWithArg(dir).length === 0)).toBe(true);
    expect(await waitFor(() => processesWithArg("10.89.78.0/24").length === 0)).toBe(true);
  }, T);

  test("an internal network (no slirp) has its bridge and no slirp4netns", async () => {
    const dir = join(root, "internal");
    const { slirp: _, ...config } = newUsernsConfig("10.89.79.0/24");
    const r = await startHolder(dir, config);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`ready ${r.pid}\n`);
    expect(exists(join(dir, HOLDER_FILES.slirpPid))).toBe(false);
    expect(readFileSync(join(dir, HOLDER_FILES.pid), "utf8")).toBe(`${r.pid}\n`);
    process.kill(r.pid!, "SIGTERM");
    expect(await waitFor(() => !alive(r.pid!))).toBe(true);
  }, T);
});

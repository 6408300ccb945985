import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allocateAddress, pickAddress, readAllocations, releaseAddress } from "./ipam.ts";
import type { NetworkRecord } from "./store.ts";
import { parseSubnet } from "./subnet.ts";

const S = parseSubnet("10.89.1.0/24");

test("pickAddress: the lowest free address from .4", () => {
  expect(pickAddress(S, {}, "a")).toBe("10.89.1.4");
  expect(pickAddress(S, { "10.89.1.4": "b", "10.89.1.6": "c" }, "a")).toBe("10.89.1.5");
});

test("pickAddress: a container keeps the address it holds", () => {
  expect(pickAddress(S, { "10.89.1.4": "b", "10.89.1.9": "a" }, "a")).toBe("10.89.1.9");
});

test("pickAddress: --ip is honoured when free and in range, refused otherwise", () => {
  expect(pickAddress(S, {}, "a", "10.89.1.77")).toBe("10.89.1.77");
  expect(() => pickAddress(S, { "10.89.1.77": "bbbbbbbbbbbbbbbb" }, "a", "10.89.1.77")).toThrow("IP address 10.89.1.77 is already in use by container bbbbbbbbbbbb");
  expect(() => pickAddress(S, {}, "a", "10.89.2.5")).toThrow("is not in the range 10.89.1.4-10.89.1.254");
  expect(() => pickAddress(S, {}, "a", "10.89.1.2")).toThrow("is not in the range");
  expect(() => pickAddress(S, {}, "a", "10.89.1.255")).toThrow("is not in the range");
  expect(() => pickAddress(S, {}, "a", "nope")).toThrow('invalid IP address "nope"');
});

test("pickAddress: a full subnet is an error", () => {
  const small = parseSubnet("10.1.1.0/29");
  const full = { "10.1.1.4": "x", "10.1.1.5": "y", "10.1.1.6": "z" };
  expect(() => pickAddress(small, full, "a")).toThrow("no free IP address left in subnet 10.1.1.0/29");
});

test("allocateAddress: sweeps dead holders only when no address (or not the one asked for) is free", async () => {
  const saved = process.env.XDG_RUNTIME_DIR;
  const dir = mkdtempSync(join(tmpdir(), "ipam-test-"));
  process.env.XDG_RUNTIME_DIR = dir;
  try {
    const net: NetworkRecord = { name: "small", id: "f".repeat(64), driver: "bridge", subnets: [{ subnet: "10.1.1.0/29", gateway: "10.1.1.2" }], internal: false, labels: {}, options: {}, created: "" };
    const asked: string[] = [];
    const stale = (id: string) => (asked.push(id), id === "dead");
    const dropped: string[][] = [];
    const dropForwards = async (ips: string[]) => void dropped.push(ips);
    expect(await allocateAddress(net, "dead", undefined, stale, { ports: true })).toBe("10.1.1.4");
    expect(await allocateAddress(net, "live", undefined, stale)).toBe("10.1.1.5");
    expect(asked).toEqual([]);
    // .6 is free: nobody is asked about.
    expect(await allocateAddress(net, "third", undefined, stale)).toBe("10.1.1.6");
    expect(asked).toEqual([]);
    // Full: the dead one's address is taken back, and its forwards dropped.
    expect(await allocateAddress(net, "fourth", undefined, stale, { dropForwards })).toBe("10.1.1.4");
    expect(asked.sort()).toEqual(["dead", "live", "third"]);
    expect(dropped).toEqual([["10.1.1.4"]]);
    expect(readAllocations(net)).toEqual({ "10.1.1.4": "fourth", "10.1.1.5": "live", "10.1.1.6": "third" });
    await releaseAddress(net, "live", dropForwards);
    expect(dropped).toHaveLength(1);
    expect(readAllocations(net)).toEqual({ "10.1.1.4": "fourth", "10.1.1.6": "third" });
  } finally {
    if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});

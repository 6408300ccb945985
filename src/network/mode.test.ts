import { expect, test } from "bun:test";
import { parseNetworkMode, parseNetworkModes } from "./mode.ts";

test("parseNetworkMode: the default and its spellings are the shared network podman; slirp4netns is its own mode", () => {
  for (const v of [undefined, "", "private", "bridge", "default", "podman"]) expect(parseNetworkMode(v)).toEqual({ mode: "bridge", networks: [{ name: "podman" }] });
  expect(parseNetworkMode("bridge:ip=10.88.0.9")).toEqual({ mode: "bridge", networks: [{ name: "podman", ip: "10.88.0.9" }] });
  expect(parseNetworkMode("slirp4netns")).toEqual({ mode: "slirp4netns" });
});

test("parseNetworkMode: none, host, and slirp4netns's host loopback option", () => {
  expect(parseNetworkMode("none")).toEqual({ mode: "none" });
  expect(parseNetworkMode("host")).toEqual({ mode: "host" });
  expect(parseNetworkMode("slirp4netns:allow_host_loopback=true")).toEqual({ mode: "slirp4netns", allowHostLoopback: true });
});

test("parseNetworkMode: any other name is a user-defined network, with podman's ip= and alias= options", () => {
  expect(parseNetworkMode("my-net")).toEqual({ mode: "bridge", networks: [{ name: "my-net" }] });
  expect(parseNetworkMode("my-net:ip=10.89.1.9,alias=db,alias=cache")).toEqual({ mode: "bridge", networks: [{ name: "my-net", ip: "10.89.1.9", aliases: ["db", "cache"] }] });
  expect(() => parseNetworkMode("my-net:mtu=9")).toThrow('unsupported network option "mtu=9"');
  expect(() => parseNetworkMode("no such")).toThrow('unsupported network mode "no such"');
});

test("parseNetworkModes: --network a,b and repeated --network join several networks; modes stay alone", () => {
  expect(parseNetworkModes(["a,b"])).toEqual({ mode: "bridge", networks: [{ name: "a" }, { name: "b" }] });
  expect(parseNetworkModes(["a", "b:alias=x"])).toEqual({ mode: "bridge", networks: [{ name: "a" }, { name: "b", aliases: ["x"] }] });
  expect(parseNetworkModes([])).toEqual({ mode: "bridge", networks: [{ name: "podman" }] });
  expect(parseNetworkModes(["bridge,a"])).toEqual({ mode: "bridge", networks: [{ name: "podman" }, { name: "a" }] });
  expect(parseNetworkModes(["host"])).toEqual({ mode: "host" });
  expect(() => parseNetworkModes(["a", "host"])).toThrow('network mode "host" cannot be combined');
  expect(() => parseNetworkModes(["a", "a"])).toThrow('network "a" is given twice');
});

test("parseNetworkMode: unknown options of the built-in modes are refused by name", () => {
  expect(() => parseNetworkMode("host:x=1")).toThrow("takes no options");
  expect(() => parseNetworkMode("slirp4netns:mtu=1500")).toThrow('unsupported network option "mtu=1500"');
});

import { expect, test } from "bun:test";
import { parseNetworkMode } from "./mode.ts";

test("parseNetworkMode: the default and its spellings are slirp4netns", () => {
  for (const v of [undefined, "", "private", "bridge", "default", "slirp4netns"]) expect(parseNetworkMode(v)).toEqual({ mode: "slirp4netns" });
});

test("parseNetworkMode: none, host, and slirp4netns's host loopback option", () => {
  expect(parseNetworkMode("none")).toEqual({ mode: "none" });
  expect(parseNetworkMode("host")).toEqual({ mode: "host" });
  expect(parseNetworkMode("slirp4netns:allow_host_loopback=true")).toEqual({ mode: "slirp4netns", allowHostLoopback: true });
});

test("parseNetworkMode: unknown modes and options are refused by name", () => {
  expect(() => parseNetworkMode("my-net")).toThrow('unsupported network mode "my-net"');
  expect(() => parseNetworkMode("host:x=1")).toThrow("takes no options");
  expect(() => parseNetworkMode("slirp4netns:mtu=1500")).toThrow('unsupported network option "mtu=1500"');
});

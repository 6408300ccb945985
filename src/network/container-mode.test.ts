import { expect, test } from "bun:test";
import { parseNetworkMode, parseNetworkModes } from "./mode.ts";

test("parseNetworkMode: container:NAME names the container whose network is joined", () => {
  expect(parseNetworkMode("container:web")).toEqual({ mode: "container", container: "web" });
  expect(parseNetworkModes(["container:0123abcd"])).toEqual({ mode: "container", container: "0123abcd" });
});

test("parseNetworkMode: container without a name, or combined with networks, is refused", () => {
  expect(() => parseNetworkMode("container")).toThrow('invalid network mode "container"');
  expect(() => parseNetworkMode("container:")).toThrow('invalid network mode "container:"');
  expect(() => parseNetworkModes(["net1", "container:web"])).toThrow("cannot be combined with other networks");
});

import { expect, test } from "bun:test";
import { which } from "../host/which.ts";
import { parseNetworkMode } from "./mode.ts";
import { pastaHelperArgv, pastaPortSpec } from "./pasta.ts";

test("parseNetworkMode: pasta, with its options passed on as podman splits them", () => {
  expect(parseNetworkMode("pasta")).toEqual({ mode: "pasta" });
  expect(parseNetworkMode("pasta:-T,5000,--no-map-gw")).toEqual({ mode: "pasta", pastaOptions: ["-T", "5000", "--no-map-gw"] });
});

test("pastaPortSpec: [ADDR/]HOSTPORT:CONTAINERPORT", () => {
  expect(pastaPortSpec({ hostIP: "", hostPort: 8080, containerPort: 80, protocol: "tcp" })).toBe("8080:80");
  expect(pastaPortSpec({ hostIP: "127.0.0.1", hostPort: 5353, containerPort: 53, protocol: "udp" })).toBe("127.0.0.1/5353:53");
});

const installed = which("pasta") !== undefined;

test.if(installed)("pastaHelperArgv: ports by protocol, automatic forwarding off, host loopback closed, then the user's options", () => {
  const argv = pastaHelperArgv([{ hostIP: "", hostPort: 8080, containerPort: 80, protocol: "tcp" }], ["--mtu", "1500"]);
  const pasta = argv.indexOf(which("pasta")!);
  expect(argv[1]).toBe("-c");
  expect(argv.slice(pasta + 1)).toEqual(["--config-net", "--quiet", "-t", "8080:80", "-u", "none", "-T", "none", "-U", "none", "--no-map-gw", "--mtu", "1500"]);
});

test.if(installed)("pastaHelperArgv: the user's -T replaces ours; host-gateway keeps the host's loopback open", () => {
  const argv = pastaHelperArgv([], ["-T", "5000"], true);
  expect(argv.filter((a) => a === "-T")).toHaveLength(1);
  expect(argv).not.toContain("--no-map-gw");
  expect(argv.slice(argv.indexOf("-t"), argv.indexOf("-t") + 2)).toEqual(["-t", "none"]);
});

test.if(!installed)("pastaHelperArgv: without pasta, an error naming the package", () => {
  expect(() => pastaHelperArgv([])).toThrow('install the "passt" package');
});

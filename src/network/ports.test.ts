import { describe, expect, test } from "bun:test";
import { expandPortSpec, formatPortMapping, parsePortSpec, portsForInspect } from "./ports.ts";

describe("parsePortSpec", () => {
  test("container port only: any host port, tcp", () => {
    expect(parsePortSpec("80")).toEqual({ hostIP: "", hostPorts: [], containerPorts: [80], protocol: "tcp" });
  });
  test("host and container port with protocol", () => {
    expect(parsePortSpec("8080:80/udp")).toEqual({ hostIP: "", hostPorts: [8080], containerPorts: [80], protocol: "udp" });
  });
  test("ip with empty host port picks any port on that ip", () => {
    expect(parsePortSpec("127.0.0.1::80")).toEqual({ hostIP: "127.0.0.1", hostPorts: [], containerPorts: [80], protocol: "tcp" });
  });
  test("0.0.0.0 means every address", () => {
    expect(parsePortSpec("0.0.0.0:8080:80").hostIP).toBe("");
  });
  test("bracketed IPv6 address", () => {
    expect(parsePortSpec("[::1]:8080:80")).toEqual({ hostIP: "::1", hostPorts: [8080], containerPorts: [80], protocol: "tcp" });
  });
  test("ranges of equal length pair up", () => {
    const spec = parsePortSpec("4000-4002:80-82");
    expect(expandPortSpec(spec).map((e) => [e.mapping.hostPort, e.mapping.containerPort])).toEqual([[4000, 80], [4001, 81], [4002, 82]]);
  });
  test("a host range for one container port is a set to choose from", () => {
    const [only] = expandPortSpec(parsePortSpec("4000-4010:80"));
    expect(only).toEqual({ mapping: { hostIP: "", hostPort: 0, containerPort: 80, protocol: "tcp" }, choices: Array.from({ length: 11 }, (_, i) => 4000 + i) });
  });
  test.each([
    ["", "no container port"],
    ["80/sctp", 'protocol "sctp"'],
    ["0", "outside 1-65535"],
    ["65536", "outside 1-65535"],
    ["8080:", "no container port"],
    ["abc", "is not a port"],
    ["90-80", "ends before it starts"],
    ["4000-4001:80-82", "host range has 2 ports"],
    ["8080:80-82", "same length"],
    ["1.2.3:8080:80", "not an IP address"],
    ["300.1.1.1:8080:80", "not an IP address"],
    ["a:b:c:d", "expected [ip:]"],
  ])("rejects %p", (spec, why) => {
    expect(() => parsePortSpec(spec)).toThrow(why);
  });
});

describe("formatPortMapping and portsForInspect", () => {
  const m = { hostIP: "", hostPort: 8080, containerPort: 80, protocol: "tcp" as const };
  test("as ps shows it", () => {
    expect(formatPortMapping(m)).toBe("0.0.0.0:8080->80/tcp");
    expect(formatPortMapping({ ...m, hostIP: "::1" })).toBe("[::1]:8080->80/tcp");
  });
  test("as docker's NetworkSettings.Ports", () => {
    expect(portsForInspect([m, { ...m, hostPort: 8081 }])).toEqual({ "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }, { HostIp: "0.0.0.0", HostPort: "8081" }] });
  });
});

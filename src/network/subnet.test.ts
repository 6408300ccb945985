import { expect, test } from "bun:test";
import { containerRange, defaultSubnet, dnsAddress, formatSubnet, gatewayAddress, numberToIp, overlaps, parseSubnet } from "./subnet.ts";

test("parseSubnet: an IPv4 CIDR with its host bits clear", () => {
  expect(formatSubnet(parseSubnet("10.89.1.0/24"))).toBe("10.89.1.0/24");
  expect(formatSubnet(parseSubnet("172.20.0.0/16"))).toBe("172.20.0.0/16");
  expect(formatSubnet(parseSubnet("192.168.200.0/29"))).toBe("192.168.200.0/29");
});

test("parseSubnet: refuses bad text, host bits, tiny subnets and IPv6, naming the value", () => {
  expect(() => parseSubnet("10.89.1.5/24")).toThrow('invalid subnet "10.89.1.5/24": host bits are set (did you mean 10.89.1.0/24?)');
  expect(() => parseSubnet("10.89.1.0")).toThrow('invalid subnet "10.89.1.0"');
  expect(() => parseSubnet("10.89.300.0/24")).toThrow('invalid subnet "10.89.300.0/24"');
  expect(() => parseSubnet("10.89.1.0/30")).toThrow("needs at least a /29");
  expect(() => parseSubnet("fd00::/64")).toThrow("IPv6 subnets are not supported yet");
});

test("slirp4netns's layout: .2 router, .3 DNS, containers from .4 to before the broadcast", () => {
  const s = parseSubnet("10.89.7.0/24");
  expect(gatewayAddress(s)).toBe("10.89.7.2");
  expect(dnsAddress(s)).toBe("10.89.7.3");
  const r = containerRange(s);
  expect([numberToIp(r.first), numberToIp(r.last)]).toEqual(["10.89.7.4", "10.89.7.254"]);
});

test("overlaps: any shared address, in either direction", () => {
  expect(overlaps(parseSubnet("10.89.0.0/16"), parseSubnet("10.89.5.0/24"))).toBe(true);
  expect(overlaps(parseSubnet("10.89.5.0/24"), parseSubnet("10.89.0.0/16"))).toBe(true);
  expect(overlaps(parseSubnet("10.89.5.0/24"), parseSubnet("10.89.6.0/24"))).toBe(false);
  expect(overlaps(parseSubnet("10.89.5.0/25"), parseSubnet("10.89.5.128/25"))).toBe(false);
});

test("defaultSubnet: the first free 10.89.N.0/24 from N=1", () => {
  expect(formatSubnet(defaultSubnet([]))).toBe("10.89.1.0/24");
  expect(formatSubnet(defaultSubnet([parseSubnet("10.89.1.0/24"), parseSubnet("10.89.2.0/23")]))).toBe("10.89.4.0/24");
});

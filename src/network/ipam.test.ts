import { expect, test } from "bun:test";
import { pickAddress } from "./ipam.ts";
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

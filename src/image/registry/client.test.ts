import { expect, test } from "bun:test";
import { registryTimeoutMs } from "./client.ts";

test("registryTimeoutMs reads CTR_REGISTRY_TIMEOUT in seconds, 30 by default", () => {
  expect(registryTimeoutMs({})).toBe(30_000);
  expect(registryTimeoutMs({ CTR_REGISTRY_TIMEOUT: "" })).toBe(30_000);
  expect(registryTimeoutMs({ CTR_REGISTRY_TIMEOUT: "0.25" })).toBe(250);
  expect(registryTimeoutMs({ CTR_REGISTRY_TIMEOUT: "120" })).toBe(120_000);
});

test("registryTimeoutMs refuses what is not a positive number of seconds", () => {
  for (const bad of ["0", "-1", "soon", "Infinity"]) {
    expect(() => registryTimeoutMs({ CTR_REGISTRY_TIMEOUT: bad })).toThrow(`invalid CTR_REGISTRY_TIMEOUT "${bad}"`);
  }
});

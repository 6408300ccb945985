import { expect, test } from "bun:test";
import { pushChunkBytes, registryTimeoutMs } from "./client.ts";

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

test("pushChunkBytes reads CTR_PUSH_CHUNK_SIZE in bytes, 8 MiB by default", () => {
  expect(pushChunkBytes({})).toBe(8 * 1024 * 1024);
  expect(pushChunkBytes({ CTR_PUSH_CHUNK_SIZE: "" })).toBe(8 * 1024 * 1024);
  expect(pushChunkBytes({ CTR_PUSH_CHUNK_SIZE: "65536" })).toBe(65536);
  for (const bad of ["0", "-5", "1.5", "lots"]) {
    expect(() => pushChunkBytes({ CTR_PUSH_CHUNK_SIZE: bad })).toThrow(`invalid CTR_PUSH_CHUNK_SIZE "${bad}"`);
  }
});

import { describe, expect, test } from "bun:test";
import { idMappings, keepIdMappings, parseSubIds, passwdName } from "./subid.ts";

test("parseSubIds finds ranges by name or uid and skips others", () => {
  const text = "alice:100000:65536\nbob:165536:65536\n1001:300000:1000\n# c\n";
  expect(parseSubIds(text, "alice", 1000)).toEqual([{ start: 100000, count: 65536 }]);
  expect(parseSubIds(text, "carol", 1001)).toEqual([{ start: 300000, count: 1000 }]);
  expect(parseSubIds(text, "dave", 1002)).toEqual([]);
});

test("idMappings maps root to the user and stacks the ranges from 1", () => {
  expect(idMappings(1000, [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }])).toEqual([
    { containerID: 0, hostID: 1000, size: 1 },
    { containerID: 1, hostID: 100000, size: 65536 },
    { containerID: 65537, hostID: 300000, size: 10 },
  ]);
});

test("keepIdMappings maps the user's id to itself and the subordinate ranges around it, as podman's keep-id", () => {
  expect(keepIdMappings(1000, [{ start: 100000, count: 65536 }])).toEqual([
    { containerID: 0, hostID: 100000, size: 1000 },
    { containerID: 1000, hostID: 1000, size: 1 },
    { containerID: 1001, hostID: 101000, size: 64536 },
  ]);
  expect(keepIdMappings(3, [{ start: 100, count: 2 }, { start: 200, count: 5 }])).toEqual([
    { containerID: 0, hostID: 100, size: 2 },
    { containerID: 2, hostID: 200, size: 1 },
    { containerID: 3, hostID: 3, size: 1 },
    { containerID: 4, hostID: 201, size: 4 },
  ]);
  expect(() => keepIdMappings(1000, [{ start: 100000, count: 10 }])).toThrow("keep-id");
});

describe("passwdName", () => {
  test("finds the user by uid, not by a name in the environment", () => {
    const text = "root:x:0:0:root:/root:/bin/bash\n# a comment:x:5\nalice:x:1000:1000::/home/alice:/bin/sh\nalias:x:1000:1000::/:/bin/sh\n";
    expect(passwdName(text, 1000)).toBe("alice");
    expect(passwdName(text, 0)).toBe("root");
    expect(passwdName(text, 4242)).toBeUndefined();
  });
});

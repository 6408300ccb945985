import { expect, test } from "bun:test";
import { idMappings, parseSubIds } from "./subid.ts";

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

import { describe, expect, test } from "bun:test";
import { LogParser, parseLogTime } from "./logs.ts";

describe("LogParser", () => {
  test("joins partial records with the rest of their line", () => {
    const p = new LogParser();
    const recs = p.parse([
      "2024-01-01T00:00:00.000000001Z stdout P hel",
      "2024-01-01T00:00:00.000000002Z stdout F lo",
      "2024-01-01T00:00:00.000000003Z stderr F oops",
    ]);
    expect(recs.map((r) => [r.stream, r.text, r.newline])).toEqual([["stdout", "hello", true], ["stderr", "oops", true]]);
    expect(recs[0]!.time).toBe("2024-01-01T00:00:00.000000001Z");
  });

  test("a trailing partial record is flushed without a newline", () => {
    const p = new LogParser();
    expect(p.parse(["2024-01-01T00:00:00Z stdout P no newline"])).toEqual([]);
    expect(p.flush().map((r) => [r.text, r.newline])).toEqual([["no newline", false]]);
  });

  test("keeps spaces in the text and skips malformed lines", () => {
    const p = new LogParser();
    expect(p.parse(["garbage", "2024-01-01T00:00:00Z stdout F  two  spaces "]).map((r) => r.text)).toEqual([" two  spaces "]);
  });
});

describe("parseLogTime", () => {
  const now = Date.parse("2024-01-01T12:00:00Z");
  test("accepts RFC 3339, unix seconds and durations", () => {
    expect(parseLogTime("since", "2024-01-01T11:00:00Z", now)).toBe(Date.parse("2024-01-01T11:00:00Z"));
    expect(parseLogTime("since", "1704106800", now)).toBe(1704106800_000);
    expect(parseLogTime("since", "1h30m", now)).toBe(now - 90 * 60_000);
  });
  test("names the flag and the value it refuses", () => {
    expect(() => parseLogTime("until", "soon", now)).toThrow('invalid --until "soon"');
  });
});

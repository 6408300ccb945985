import { describe, expect, test } from "bun:test";
import { formatKiB, formatRatio, formatSeconds, formatTarget, markdownTable, missed, parseSmapsRollup, summarize, timesFromHyperfine } from "./stats.ts";

describe("summarize", () => {
  test("summarize takes the middle of an odd count and the mean of the two middles of an even one", () => {
    expect(summarize([0.3, 0.1, 0.2])).toEqual({ median: 0.2, min: 0.1, runs: 3 });
    expect(summarize([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, runs: 4 });
  });

  test("summarize refuses an empty list", () => {
    expect(() => summarize([])).toThrow("no run times");
  });

  test("timesFromHyperfine reads results[0].times, not hyperfine's own summary", () => {
    const json = JSON.stringify({ results: [{ command: "x", median: 99, times: [0.02, 0.01, 0.03] }] });
    expect(timesFromHyperfine(json)).toEqual([0.02, 0.01, 0.03]);
    expect(() => timesFromHyperfine("{}")).toThrow("results[0].times");
  });
});

describe("formatting", () => {
  test("formatSeconds keeps about three significant digits", () => {
    expect(formatSeconds(0.00123)).toBe("1.23 ms");
    expect(formatSeconds(0.0981)).toBe("98.1 ms");
    expect(formatSeconds(0.3456)).toBe("346 ms");
    expect(formatSeconds(6.2)).toBe("6.20 s");
  });

  test("formatRatio and formatKiB", () => {
    expect(formatRatio(0.2849)).toBe("0.28×");
    expect(formatRatio(2.85)).toBe("2.9×");
    expect(formatRatio(Infinity)).toBe("n/a");
    expect(formatKiB(132)).toBe("132 KiB");
    expect(formatKiB(3424)).toBe("3.3 MiB");
  });

  test("markdownTable escapes pipes inside cells", () => {
    expect(markdownTable(["a", "b"], [["x|y", "z"]])).toEqual(["| a | b |", "|---|---|", "| x\\|y | z |"]);
  });
});

describe("targets", () => {
  test("formatTarget marks each bound met, missed or not measured", () => {
    const bounds = [
      { label: "≤ 0.3× podman", max: 0.3, ratio: 0.41 },
      { label: "≤ 3× floor", max: 3, ratio: 2.5 },
      { label: "≤ 1.2× floor", max: 1.2, ratio: undefined },
    ];
    expect(formatTarget(bounds)).toBe("≤ 0.3× podman **✗**, ≤ 3× floor ✓, ≤ 1.2× floor (not measured)");
    expect(missed(bounds)).toBe(true);
    expect(missed(bounds.slice(1))).toBe(false);
  });
});

describe("parseSmapsRollup", () => {
  test("parseSmapsRollup reads Rss and Pss in kB", () => {
    const text = "55d0-7ffd ---p 00000000 00:00 0  [rollup]\nRss:                 132 kB\nPss:                  41 kB\nPss_Dirty:            20 kB\n";
    expect(parseSmapsRollup(text)).toEqual({ rssKiB: 132, pssKiB: 41 });
    expect(() => parseSmapsRollup("Rss: 1 kB\n")).toThrow("no Pss line");
  });
});

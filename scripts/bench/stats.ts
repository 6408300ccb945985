/**
 * Numbers for the benchmark table: medians and minimums of hyperfine's
 * per-run times, ratios, and how a figure stands against the targets.
 * Times are in seconds, as hyperfine exports them; sizes in KiB, as
 * /proc/PID/smaps_rollup gives them.
 */

/** Summary of one command's runs. */
export interface Timing {
  /** Median of the runs, seconds. */
  readonly median: number;
  /** Fastest run, seconds. */
  readonly min: number;
  /** How many runs (warmup runs excluded). */
  readonly runs: number;
}

/**
 * Median and minimum of a list of run times.
 *
 * @throws Error when `times` is empty: a figure without runs has no median.
 * @example
 * ```ts
 * summarize([0.3, 0.1, 0.2]); // { median: 0.2, min: 0.1, runs: 3 }
 * ```
 */
export function summarize(times: readonly number[]): Timing {
  if (times.length === 0) throw new Error("summarize: no run times");
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, runs: sorted.length };
}

/** The per-run times, in seconds, of the first result of a file written by `hyperfine --export-json`. */
export function timesFromHyperfine(json: string): number[] {
  const doc = JSON.parse(json) as { results?: { times?: number[] }[] };
  const times = doc.results?.[0]?.times;
  if (!Array.isArray(times)) throw new Error("hyperfine export has no results[0].times");
  return times;
}

/** `12.3 ms`, `1.24 s`: three significant digits, unit by size. */
export function formatSeconds(s: number): string {
  if (s >= 1) return `${s.toFixed(2)} s`;
  const ms = s * 1000;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** `98.1 ms (85.0 ms)`: median, then min in parentheses. */
export function formatTiming(t: Timing): string {
  return `${formatSeconds(t.median)} (${formatSeconds(t.min)})`;
}

/** `0.28×`; two significant digits below 10. */
export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return "n/a";
  return r >= 10 ? `${r.toFixed(0)}×` : r >= 1 ? `${r.toFixed(1)}×` : `${r.toFixed(2)}×`;
}

/** `132 KiB`, `2.3 MiB`. */
export function formatKiB(kib: number): string {
  return kib >= 1024 ? `${(kib / 1024).toFixed(1)} MiB` : `${Math.round(kib)} KiB`;
}

/** One bound of a target: the value of `measured / reference` must not exceed `max`. */
export interface Bound {
  /** The bound as the issue words it: "≤ 0.3× podman", "≤ 1 MiB". */
  readonly label: string;
  readonly max: number;
  /** The measured ratio, or undefined when it could not be measured. */
  readonly ratio: number | undefined;
}

/**
 * Renders a target with its verdict, e.g. `≤ 0.3× podman **✗**, ≤ 3× floor ✓`.
 * Bounds that could not be measured say so instead of passing.
 */
export function formatTarget(bounds: readonly Bound[]): string {
  return bounds
    .map((b) => {
      if (b.ratio === undefined) return `${b.label} (not measured)`;
      return b.ratio <= b.max ? `${b.label} ✓` : `${b.label} **✗**`;
    })
    .join(", ");
}

/** True when some measured bound is exceeded: the figure needs a breakdown. */
export function missed(bounds: readonly Bound[]): boolean {
  return bounds.some((b) => b.ratio !== undefined && b.ratio > b.max);
}

/** The two numbers smaps_rollup gives per process that the table reports. */
export interface Memory {
  readonly rssKiB: number;
  readonly pssKiB: number;
}

/** Parses `Rss:` and `Pss:` (kB) out of /proc/PID/smaps_rollup. */
export function parseSmapsRollup(text: string): Memory {
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
    if (!m) throw new Error(`smaps_rollup has no ${name} line`);
    return Number(m[1]);
  };
  return { rssKiB: field("Rss"), pssKiB: field("Pss") };
}

/** Renders a markdown table; `|` inside cells is escaped. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const esc = (c: string) => c.replace(/\|/g, "\\|");
  return [
    `| ${header.map(esc).join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ];
}

/**
 * Turns a `bun test --reporter=junit` report into the closing line CI reads:
 * `N passed, N failed, N skipped`.
 *
 * Bun leaves a test file that fails to load (a syntax error, a throwing
 * import) out of the JUnit report entirely, though it counts it in its own
 * console summary. So the console log is read too, and any failures it counts
 * beyond the report's are added; a non-zero exit from bun with no failure
 * found anywhere counts as one failure. The line never reads "0 failed" for a
 * run that failed.
 *
 * Usage: `bun scripts/junit-summary.ts REPORT.xml [--log BUN_OUTPUT] [--exit-code N]`
 * Prints the line on stdout, notes on stderr. Exits 0 only if at least one
 * test ran and none failed.
 */
import { existsSync, readFileSync } from "node:fs";

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/** Counts test cases in a JUnit document: a case with <failure> or <error> failed, with <skipped> was skipped. */
export function countJunit(xml: string): Counts {
  const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
  // Attribute values escape "<" and ">", so a tag-level scan is exact here.
  const testcase = /<testcase\b[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(testcase)) {
    const body = m[1] ?? "";
    if (/<(failure|error)\b/.test(body)) counts.failed++;
    else if (/<skipped\b/.test(body)) counts.skipped++;
    else counts.passed++;
  }
  return counts;
}

/** The "N fail" count from bun's console summary, or undefined if absent. */
export function consoleFailures(log: string): number | undefined {
  // eslint-disable-next-line no-control-regex
  const plain = log.replace(/\x1b\[[0-9;]*m/g, "");
  const all = [...plain.matchAll(/^\s*(\d+) fail\s*$/gm)];
  return all.length ? Number(all[all.length - 1]![1]) : undefined;
}

function main(argv: string[]): number {
  let report: string | undefined;
  let logPath: string | undefined;
  let exitCode: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--log") logPath = argv[++i];
    else if (a === "--exit-code") exitCode = Number(argv[++i]);
    else report = a;
  }
  if (!report) {
    console.error("usage: junit-summary.ts REPORT.xml [--log BUN_OUTPUT] [--exit-code N]");
    return 2;
  }
  const xml = existsSync(report) ? readFileSync(report, "utf8") : "";
  if (!xml.includes("<testsuites")) {
    console.error(`Error: JUnit report "${report}" is missing or empty (bun test exited ${exitCode ?? "?"})`);
    return 1;
  }
  const counts = countJunit(xml);
  const log = logPath && existsSync(logPath) ? readFileSync(logPath, "utf8") : "";
  const fromConsole = consoleFailures(log);
  if (fromConsole !== undefined && fromConsole > counts.failed) {
    console.error(
      `note: bun counted ${fromConsole - counts.failed} failure(s) the JUnit report lacks ` +
        "(a test file that failed to load, or an error between tests); see bun's output above",
    );
    counts.failed = fromConsole;
  }
  if (exitCode !== undefined && exitCode !== 0 && counts.failed === 0) {
    console.error(`note: bun test exited ${exitCode} without a failing test; counted as one failure`);
    counts.failed = 1;
  }
  const total = counts.passed + counts.failed + counts.skipped;
  if (total === 0) console.error("note: no test ran");
  console.log(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  return counts.failed === 0 && total > 0 ? 0 : 1;
}

if (import.meta.main) process.exit(main(process.argv.slice(2)));

import { expect, test } from "bun:test";
import { binarySize, terminalProgress } from "./progress.ts";

test("binarySize prints podman's binary units with one decimal", () => {
  expect(binarySize(0)).toBe("0B");
  expect(binarySize(1023)).toBe("1023B");
  expect(binarySize(1024)).toBe("1.0KiB");
  expect(binarySize(12.34 * 1024 * 1024)).toBe("12.3MiB");
  expect(binarySize(3 * 1024 ** 3)).toBe("3.0GiB");
});

test("terminalProgress redraws its block of lines in place, one per blob", () => {
  let out = "";
  const p = terminalProgress((t) => (out += t));
  const a = p.blob("blob", `sha256:${"a".repeat(64)}`, 2048);
  const b = p.blob("blob", `sha256:${"b".repeat(64)}`, 1024);
  b.done("skipped: already exists");
  a.add(1024);
  a.done();
  p.close();
  // Each redraw after the first goes back up over the lines it drew.
  const frames = out.split(/\x1b\[\d+A/);
  expect(frames.length).toBeGreaterThan(2);
  expect(frames.at(-1)).toBe(
    `\r\x1b[2KCopying blob sha256:aaaaaaaaaaaa… 2.0KiB / 2.0KiB done\n\r\x1b[2KCopying blob sha256:bbbbbbbbbbbb… skipped: already exists\n`,
  );
});

test("terminalProgress cuts lines to the terminal width, so none wraps", () => {
  let out = "";
  const p = terminalProgress((t) => (out += t), 30);
  p.blob("blob", `sha256:${"c".repeat(64)}`, 10).done();
  p.close();
  for (const line of out.split("\n").filter(Boolean)) expect(line.replace(/\r|\x1b\[\d*[AK]/g, "").length).toBeLessThanOrEqual(29);
});

test("a plain line ends the block; lines still running are drawn again below it", () => {
  let out = "";
  const p = terminalProgress((t) => (out += t));
  p.blob("config", `sha256:${"d".repeat(64)}`, 10).done();
  const running = p.blob("blob", `sha256:${"e".repeat(64)}`, 10);
  p.line("Writing manifest to image destination");
  running.done();
  p.close();
  const afterLine = out.slice(out.indexOf("Writing manifest"));
  expect(afterLine).toContain("Copying blob sha256:eeeeeeeeeeee… 10B / 10B done");
  expect(afterLine).not.toContain("Copying config");
});

test("a block taller than the terminal lets finished lines scroll away instead of moving above the screen", () => {
  let out = "";
  const p = terminalProgress((t) => (out += t), 80, 5);
  const bar = (c: string) => p.blob("blob", `sha256:${c.repeat(64)}`, 10);
  const first = ["1", "2", "3"].map(bar);
  first[0]!.done();
  first[1]!.done();
  bar("4").add(5);
  bar("5");
  p.close();
  for (const m of out.matchAll(/\x1b\[(\d+)A/g)) expect(Number(m[1])).toBeLessThanOrEqual(3);
  expect(out).toContain("Copying blob sha256:111111111111… 10B / 10B done");
});

import { expect, test } from "bun:test";
import { firstPositional, flagTable, parseArgs } from "./argv.ts";

const shape = { takesValue: new Set(["e", "env", "name", "u", "user"]) };

test("firstPositional skips flags and their values", () => {
  expect(firstPositional(["--rm", "-e", "A=1", "alpine", "sh", "-c", "x"], shape)).toBe(3);
  expect(firstPositional(["--name=x", "-it", "alpine"], shape)).toBe(2);
  expect(firstPositional(["-itu", "root", "alpine"], shape)).toBe(2);
  expect(firstPositional(["-uroot", "alpine"], shape)).toBe(1);
  expect(firstPositional(["--", "alpine", "-x"], shape)).toBe(1);
  expect(firstPositional(["--rm"], shape)).toBe(-1);
});

// Declared as cac declares them (see run-flags.ts, ps.ts).
const table = flagTable([
  { rawName: "-h, --help", names: ["h", "help"], negated: false },
  { rawName: "-e, --env <env>", names: ["e", "env"], negated: false, required: true },
  { rawName: "-l, --label <label>", names: ["l", "label"], negated: false, required: true },
  { rawName: "-p, --publish <spec>", names: ["p", "publish"], negated: false, required: true },
  { rawName: "-v, --volume <volume>", names: ["v", "volume"], negated: false, required: true },
  { rawName: "--name <name>", names: ["name"], negated: false, required: true },
  { rawName: "--entrypoint <cmd>", names: ["entrypoint"], negated: false, required: true },
  { rawName: "--memory-swap <bytes>", names: ["memorySwap"], negated: false, required: true },
  { rawName: "-u, --user <user>", names: ["u", "user"], negated: false, required: true },
  { rawName: "-i, --interactive", names: ["i", "interactive"], negated: false },
  { rawName: "-t, --tty", names: ["t", "tty"], negated: false },
  { rawName: "-d, --detach", names: ["d", "detach"], negated: false },
  { rawName: "--rm", names: ["rm"], negated: false },
  { rawName: "--read-only", names: ["readOnly"], negated: false },
  { rawName: "--no-trunc", names: ["trunc"], negated: true },
]);
const run = (...args: string[]) => parseArgs(["run", ...args], table, { passThroughAfter: 2 });

test("parseArgs accumulates a repeated flag in order whatever its spelling", () => {
  const o = run("-e", "A=1", "--env", "B=2", "-eC=3", "--env=D=4", "-e=E=5", "alpine").options;
  expect(o.env).toEqual(["A=1", "B=2", "C=3", "D=4", "E=5"]);
  expect(o.e).toEqual(o.env);
  expect(run("--label", "a=1", "-l", "b=2", "alpine").options.label).toEqual(["a=1", "b=2"]);
  expect(run("-p8080:80", "--publish=9090:90", "-p", "1:2", "alpine").options.publish).toEqual(["8080:80", "9090:90", "1:2"]);
  expect(run("-v/h:/c", "--volume=/x:/y:ro", "alpine").options.volume).toEqual(["/h:/c", "/x:/y:ro"]);
});

test("parseArgs keeps values as typed: numeric-looking ones stay strings", () => {
  const o = run("--name", "007", "-u", "1000", "--label", "v=1.10", "alpine").options;
  expect(o).toMatchObject({ name: "007", user: "1000", label: "v=1.10" });
  expect(run("--name=1e3", "alpine").options.name).toBe("1e3");
});

test("parseArgs reads --flag= as the empty string, not the next argument", () => {
  const r = run("--entrypoint=", "alpine", "true");
  expect(r.options.entrypoint).toBe("");
  expect(r.positionals).toEqual(["run", "alpine"]);
  expect(r.rest).toEqual(["true"]);
  expect(run("--entrypoint", "", "alpine").options.entrypoint).toBe("");
});

test("parseArgs gives a value flag the next argument even when it looks like a flag", () => {
  const r = run("--memory-swap", "-1", "--rm", "alpine");
  expect(r.options).toMatchObject({ memorySwap: "-1", rm: true });
  expect(r.positionals).toEqual(["run", "alpine"]);
});

test("parseArgs reads short clusters and booleans with values as pflag does", () => {
  expect(run("-itd", "alpine").options).toMatchObject({ interactive: true, tty: true, detach: true });
  expect(run("-it=false", "alpine").options).toMatchObject({ interactive: true, tty: false });
  expect(run("-itu", "root", "alpine").options).toMatchObject({ tty: true, user: "root" });
  expect(run("--rm=true", "--detach=false", "--read-only", "alpine").options).toMatchObject({ rm: true, detach: false, readOnly: true });
  expect(run("--rm", "--rm=false", "alpine").options.rm).toBe(false);
  expect(() => run("--rm=maybe", "alpine")).toThrow('invalid argument "maybe" for "--rm" flag');
});

test("parseArgs passes everything after the image through untouched", () => {
  const r = run("--rm", "alpine", "sh", "-c", "echo $0", "x", "--rm");
  expect(r.positionals).toEqual(["run", "alpine"]);
  expect(r.rest).toEqual(["sh", "-c", "echo $0", "x", "--rm"]);
  expect(run("--rm", "--", "alpine", "-x").rest).toEqual(["-x"]);
  expect(run("--rm", "--", "alpine").positionals).toEqual(["run", "alpine"]);
});

test("parseArgs lets options and positionals interleave for other verbs", () => {
  const r = parseArgs(["ps", "-aq", "--no-trunc", "x", "--", "-y"], flagTable([
    { rawName: "-a, --all", names: ["a", "all"], negated: false },
    { rawName: "-q, --quiet", names: ["q", "quiet"], negated: false },
    { rawName: "--no-trunc", names: ["trunc"], negated: true },
  ]));
  expect(r.options).toEqual({ a: true, all: true, q: true, quiet: true, trunc: false });
  expect(r.positionals).toEqual(["ps", "x", "-y"]);
});

test("parseArgs refuses unknown flags and missing values with docker's wording", () => {
  expect(() => run("--nope", "alpine")).toThrow("unknown flag: --nope");
  expect(() => run("-iz", "alpine")).toThrow("unknown shorthand flag: 'z' in -iz");
  expect(() => run("--name")).toThrow("flag needs an argument: --name");
  expect(() => run("-e")).toThrow("flag needs an argument: 'e' in -e");
});

import { expect, test } from "bun:test";
import { firstPositional } from "./argv.ts";

const shape = { takesValue: new Set(["e", "env", "name", "u", "user"]) };

test("firstPositional skips flags and their values", () => {
  expect(firstPositional(["--rm", "-e", "A=1", "alpine", "sh", "-c", "x"], shape)).toBe(3);
  expect(firstPositional(["--name=x", "-it", "alpine"], shape)).toBe(2);
  expect(firstPositional(["-itu", "root", "alpine"], shape)).toBe(2);
  expect(firstPositional(["-uroot", "alpine"], shape)).toBe(1);
  expect(firstPositional(["--", "alpine", "-x"], shape)).toBe(1);
  expect(firstPositional(["--rm"], shape)).toBe(-1);
});

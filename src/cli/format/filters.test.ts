import { describe, expect, test } from "bun:test";
import { CtrError } from "../../errors.ts";
import { parseFilters } from "./filters.ts";

const allowed = ["dangling", "label", "label!", "reference"] as const;

function errorOf(values: string[]): string {
  try {
    parseFilters(values, allowed);
  } catch (e) {
    expect(e).toBeInstanceOf(CtrError);
    expect((e as CtrError).kind).toBe("invalid");
    expect((e as CtrError).exitCode).toBe(125);
    return (e as CtrError).message;
  }
  throw new Error(`${values.join(" ")} did not fail`);
}

describe("parseFilters", () => {
  test("groups repeated keys in the order given", () => {
    const m = parseFilters(["label=a", "dangling=true", "label=b=c"], allowed);
    expect([...m.keys()]).toEqual(["label", "dangling"]);
    expect(m.get("label")).toEqual([
      { value: "a", negate: false },
      { value: "b=c", negate: false },
    ]);
    expect(m.get("dangling")).toEqual([{ value: "true", negate: false }]);
  });

  test("no filters give an empty map", () => {
    expect(parseFilters([], allowed).size).toBe(0);
  });

  test("key!=value negates where the command allows it", () => {
    expect(parseFilters(["label!=a"], allowed).get("label")).toEqual([{ value: "a", negate: true }]);
    expect(errorOf(["dangling!=true"])).toBe('invalid filter "dangling!=true": filter "dangling" cannot be negated with !=');
  });

  test("only the first = splits, so a value may hold != and =", () => {
    expect(parseFilters(["label=a!=b"], allowed).get("label")).toEqual([{ value: "a!=b", negate: false }]);
  });

  test("keys are trimmed and lower-cased as docker reads them; values are kept", () => {
    expect(parseFilters([" Label =x "], allowed).get("label")).toEqual([{ value: "x ", negate: false }]);
    expect(parseFilters(["dangling="], allowed).get("dangling")).toEqual([{ value: "", negate: false }]);
  });

  test("errors name the flag value", () => {
    expect(errorOf(["foo"])).toBe('invalid filter "foo": must be in the format "key=value" or "key!=value"');
    expect(errorOf(["=x"])).toBe('invalid filter "=x": missing the filter name before =');
    expect(errorOf(["!=x"])).toBe('invalid filter "!=x": missing the filter name before =');
    expect(errorOf(["label=a", "foo=bar"])).toBe('invalid filter "foo=bar": unsupported filter "foo" (supported: dangling, label, reference)');
  });
});

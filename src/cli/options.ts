/**
 * Reads option values as verbs want them. Values arrive as typed, strings
 * (see `parseArgs` in argv.ts); a repeated flag is the list of its values,
 * and docker's CLI treats the last of a repeated single-value flag as the
 * value. Booleans are true or false.
 */
import { CtrError } from "../errors.ts";

export function str(v: unknown): string | undefined {
  if (v === undefined || v === null || v === false) return undefined;
  if (Array.isArray(v)) return str(v[v.length - 1]);
  if (v === true) return "";
  return String(v);
}

export function list(v: unknown): string[] {
  if (v === undefined || v === null || v === false) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => String(x));
}

export function bool(v: unknown): boolean {
  if (Array.isArray(v)) return bool(v[v.length - 1]);
  return v === true || v === "true";
}

export function oneOf<T extends string>(flag: string, v: unknown, allowed: readonly T[], fallback: T): T {
  const s = str(v);
  if (s === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(s)) {
    throw new CtrError(`invalid value "${s}" for --${flag}: expected ${allowed.join(", ")}`, { kind: "invalid" });
  }
  return s as T;
}

/** `-l k=v` / `--label k=v` into a record. */
export function keyValues(flag: string, v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list(v)) {
    const eq = item.indexOf("=");
    if (eq === 0) throw new CtrError(`invalid --${flag} "${item}": empty key`, { kind: "invalid" });
    out[eq < 0 ? item : item.slice(0, eq)] = eq < 0 ? "" : item.slice(eq + 1);
  }
  return out;
}

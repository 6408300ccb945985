/**
 * `--filter key=value` parsing shared by the list commands (`images`, `ps`,
 * `volume ls` …). Which keys exist and what their values mean is each
 * command's business; this module only splits, checks keys and groups.
 */
import { CtrError } from "../../errors.ts";

/** One value of a filter key; `negate` for `key!=value`. */
export interface FilterValue {
  value: string;
  negate: boolean;
}

/**
 * Parses repeated `--filter key=value` (and `key!=value`) into a map from key
 * to its values, in the order given.
 *
 * The key is everything before the first `=` (so `label=a=b` is key `label`,
 * value `a=b`); a `!` just before that `=` negates. Keys are trimmed and
 * lower-cased as docker reads them; values are kept as typed, as podman does.
 * Empty values are returned as is: whether `dangling=` is valid is the
 * command's call.
 *
 * @param values the `--filter` flag values
 * @param allowed the keys this command accepts; a key may be negated only if
 *   `allowed` also lists it with a trailing `!` (`["label", "label!"]`), as
 *   podman accepts `label!=` for some keys and not others
 * @returns key → values; keys absent from the input are absent from the map
 * @throws CtrError (kind "invalid"), exit 125, `invalid filter "x": …` naming the flag value
 *
 * @example
 * parseFilters(["dangling=true", "label!=a"], ["dangling", "label", "label!"])
 * // Map { "dangling" => [{ value: "true", negate: false }], "label" => [{ value: "a", negate: true }] }
 */
export function parseFilters(values: string[], allowed: readonly string[]): Map<string, FilterValue[]> {
  const out = new Map<string, FilterValue[]>();
  const keys = allowed.filter((k) => !k.endsWith("!"));
  for (const raw of values) {
    const fail = (why: string): never => {
      throw new CtrError(`invalid filter ${JSON.stringify(raw)}: ${why}`, { kind: "invalid" });
    };
    const eq = raw.indexOf("=");
    if (eq < 0) fail('must be in the format "key=value" or "key!=value"');
    let key = raw.slice(0, eq);
    const negate = key.endsWith("!");
    if (negate) key = key.slice(0, -1);
    key = key.trim().toLowerCase();
    if (key === "") fail("missing the filter name before =");
    if (!keys.includes(key)) fail(`unsupported filter ${JSON.stringify(key)} (supported: ${keys.join(", ")})`);
    if (negate && !allowed.includes(`${key}!`)) fail(`filter ${JSON.stringify(key)} cannot be negated with !=`);
    const list = out.get(key) ?? [];
    list.push({ value: raw.slice(eq + 1), negate });
    out.set(key, list);
  }
  return out;
}

/**
 * Splits argv where docker does: options belong to ctr up to the first
 * positional argument of `run`, `create` and `exec`; everything after it
 * (the image or container, then the command) is passed through untouched.
 * cac cannot do this itself (`ctr run alpine sh -c …` would give it `-c`).
 *
 * Flags are parsed here too ({@link parseArgs}), not by cac's mri, which
 * turns numeric-looking values into numbers, loses values when a flag's
 * short and long spellings mix, and lets `--flag=` take the next argument.
 */
import { CtrError } from "../errors.ts";

export interface FlagShape {
  /** Long and short names (without dashes) that take a value. */
  takesValue: Set<string>;
}

/**
 * Index of the first positional argument in `args`, or -1. `--` ends
 * options; `--name=value` and `-uroot` carry their value inline.
 */
export function firstPositional(args: string[], shape: FlagShape): number {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") return i + 1 < args.length ? i + 1 : -1;
    if (!a.startsWith("-") || a === "-") return i;
    if (a.startsWith("--")) {
      if (!a.includes("=") && shape.takesValue.has(a.slice(2))) i++;
      continue;
    }
    // A cluster of short flags: the first one that takes a value eats the rest or the next arg.
    for (let j = 1; j < a.length; j++) {
      if (shape.takesValue.has(a[j]!)) {
        if (j === a.length - 1) i++;
        break;
      }
    }
  }
  return -1;
}

/** How one spelling of a flag (`--env`, `-e`, `--no-trunc`) is read. */
export interface FlagDef {
  /** The option keys verbs read its value under, every alias's (`env` and `e`). */
  keys: string[];
  /** The spelling error messages name: `--env`. */
  name: string;
  /** Takes a value (`--env A=1`); else a boolean (`--rm`, `--rm=false`). */
  takesValue: boolean;
  /** `--no-trunc`: a boolean that sets its keys to false. */
  negated?: boolean;
}

/** Every spelling a verb accepts, dashes included (`--env`, `-e`), to its flag. */
export type FlagTable = Map<string, FlagDef>;

/**
 * What {@link parseArgs} hands verbs: option values are strings exactly as
 * typed (never numbers: `--name 007` is "007", `--entrypoint=` is ""), a
 * repeated value flag is the list of its values in command-line order
 * whatever the spelling (`-e A=1 --env B=2`), a boolean the last one given.
 */
export type ParsedOptions = Record<string, string | string[] | boolean>;

export interface ParsedArgs {
  positionals: string[];
  options: ParsedOptions;
  /** What follows the positional that ends parsing (`passThroughAfter`), untouched. */
  rest: string[];
}

/** Go's strconv.ParseBool, which docker's boolean flags use for `--rm=false`. */
function parseBool(flag: string, v: string): boolean {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(v)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(v)) return false;
  throw new CtrError(`invalid argument "${v}" for "${flag}" flag: expected true or false`, { kind: "invalid" });
}

/**
 * Parses flags as docker's (pflag) do: `--flag value`, `--flag=value` (an
 * empty value is the empty string), `-f value`, `-fvalue`, `-f=value`,
 * clusters of short booleans ending in at most one value flag (`-itd`,
 * `-itu root`), `--bool=false`, `--` ending options. A value flag takes the
 * next argument whatever it looks like (`--memory-swap -1`). Options and
 * positionals may interleave; once `passThroughAfter` positionals are seen
 * (run's verb and image), the remaining arguments are the command's own.
 *
 * @throws {CtrError} an unknown flag, a value flag without its value, a bad boolean
 * @example
 * ```ts
 * parseArgs(["-e", "A=1", "--env", "B=2", "alpine"], table).options.env; // ["A=1", "B=2"]
 * ```
 */
export function parseArgs(args: string[], flags: FlagTable, opts: { passThroughAfter?: number } = {}): ParsedArgs {
  const positionals: string[] = [];
  const options: ParsedOptions = {};
  const set = (def: FlagDef, v: string | boolean) => {
    let value: string | string[] | boolean = v;
    if (def.takesValue) {
      const old = options[def.keys[0]!];
      value = typeof old === "string" ? [old, v as string] : Array.isArray(old) ? [...old, v as string] : v;
    } else if (def.negated) value = !v;
    for (const k of def.keys) options[k] = value;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (opts.passThroughAfter !== undefined && positionals.length >= opts.passThroughAfter) return { positionals, options, rest: args.slice(i) };
    if (a === "--") {
      const after = args.slice(i + 1);
      const room = opts.passThroughAfter === undefined ? after.length : Math.max(0, opts.passThroughAfter - positionals.length);
      positionals.push(...after.slice(0, room));
      return { positionals, options, rest: after.slice(room) };
    }
    if (!a.startsWith("-") || a === "-") {
      positionals.push(a);
      continue;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a : a.slice(0, eq);
      const def = flags.get(name);
      if (!def) throw new CtrError(`unknown flag: ${name}`, { kind: "invalid" });
      if (eq >= 0) set(def, def.takesValue ? a.slice(eq + 1) : parseBool(name, a.slice(eq + 1)));
      else if (!def.takesValue) set(def, true);
      else if (i + 1 < args.length) set(def, args[++i]!);
      else throw new CtrError(`flag needs an argument: ${name}`, { kind: "invalid" });
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const def = flags.get(`-${c}`);
      if (!def) throw new CtrError(`unknown shorthand flag: '${c}' in ${a}`, { kind: "invalid" });
      // `-e=A=1` and `-t=false`: pflag drops the one `=` after a shorthand.
      const inline = a[j + 1] === "=" ? a.slice(j + 2) : j + 1 < a.length ? a.slice(j + 1) : undefined;
      if (def.takesValue) {
        if (inline !== undefined) set(def, inline);
        else if (i + 1 < args.length) set(def, args[++i]!);
        else throw new CtrError(`flag needs an argument: '${c}' in ${a}`, { kind: "invalid" });
        break;
      }
      if (a[j + 1] === "=") {
        set(def, parseBool(`-${c}`, a.slice(j + 2)));
        break;
      }
      set(def, true);
    }
  }
  return { positionals, options, rest: [] };
}

/** The parts of a cac option a {@link FlagTable} is built from. */
export interface DeclaredOption {
  /** `-e, --env <env>`, `--no-trunc`. */
  rawName: string;
  /** cac's camelCased keys (`e`, `env`; `trunc` for `--no-trunc`). */
  names: string[];
  negated: boolean;
  /** Set (true or false) when the option takes a value (`<v>` or `[v]`). */
  required?: boolean;
}

/** Every spelling of `options`; a later option's spelling replaces an earlier one's (a verb's `-h` over help's). */
export function flagTable(options: readonly DeclaredOption[]): FlagTable {
  const table: FlagTable = new Map();
  for (const o of options) {
    const spellings = o.rawName.replace(/[<[].*$/, "").match(/--?[A-Za-z0-9][A-Za-z0-9-]*/g) ?? [];
    const long = spellings.find((s) => s.startsWith("--")) ?? spellings[0]!;
    const def: FlagDef = { keys: o.names, name: long, takesValue: o.required !== undefined, negated: o.negated };
    for (const s of spellings) table.set(s, def);
  }
  return table;
}

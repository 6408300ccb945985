/**
 * What every verb module gets: the raw arguments after its first positional
 * (for run/create/exec, see argv.ts) and the output streams. Verb modules
 * register themselves on the cac instance and return an exit code.
 */
import type { CAC } from "cac";

export interface CommandContext {
  /** Arguments after the image/container for verbs that pass them through. */
  rest: string[];
  out: (line: string) => void;
  err: (line: string) => void;
}

export type RegisterCommand = (cli: CAC, ctx: CommandContext) => void;

/** Verbs whose arguments after the first positional are not ctr's options. */
export const PASS_THROUGH_VERBS = new Set(["run", "create", "exec", "top"]);

/**
 * What a lone `-` argument (stdin/stdout, as in `import -` and `cp - C:/d`)
 * reaches verbs as (main.ts maps it): a marker no real path can equal.
 */
export const STDIO_ARG = "\u0000-";

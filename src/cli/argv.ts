/**
 * Splits argv where docker does: options belong to ctr up to the first
 * positional argument of `run`, `create` and `exec`; everything after it
 * (the image or container, then the command) is passed through untouched.
 * cac cannot do this itself (`ctr run alpine sh -c …` would give it `-c`).
 */

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

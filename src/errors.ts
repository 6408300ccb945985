/**
 * The one error type ctr throws for anything a user should read.
 *
 * Deep code throws `CtrError` with a one-line message that names the input
 * and the failed action; only `src/cli/main.ts` catches it, prints
 * `Error: <message>` and exits with `exitCode`. Exit codes follow docker and
 * podman: 125 engine error, 126 cannot execute, 127 not found.
 */

export const EXIT_ENGINE = 125;
export const EXIT_CANNOT_EXECUTE = 126;
export const EXIT_NOT_FOUND = 127;

/** Broad kinds callers may branch on, as containerd's errdefs do. */
export type ErrorKind = "invalid" | "not-found" | "conflict" | "unavailable" | "internal";

export class CtrError extends Error {
  readonly exitCode: number;
  readonly kind: ErrorKind;

  constructor(message: string, opts: { exitCode?: number; kind?: ErrorKind; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "CtrError";
    this.exitCode = opts.exitCode ?? EXIT_ENGINE;
    this.kind = opts.kind ?? "internal";
  }
}

/** Wraps any thrown value with context, keeping a CtrError's exit code and kind. */
export function wrapError(context: string, err: unknown): CtrError {
  if (err instanceof CtrError) {
    return new CtrError(`${context}: ${err.message}`, { exitCode: err.exitCode, kind: err.kind, cause: err });
  }
  return new CtrError(`${context}: ${errorText(err)}`, { cause: err });
}

/** The shortest honest text for an unknown thrown value (Node's errno errors keep their code). */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const msg = err.message.split("\n")[0] ?? "";
    return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
  }
  return String(err);
}

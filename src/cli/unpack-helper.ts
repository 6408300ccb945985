/**
 * `ctr __unpack-layer MEDIATYPE DIR DIGEST`: hidden, not in --help. ctr runs
 * it itself as root of a user namespace to unpack a layer with its owners
 * (see src/image/unpack/userns-unpack.ts); the blob comes on stdin and one
 * JSON line goes to stdout.
 */
import { runUnpackHelper, UNPACK_VERB } from "../image/unpack/userns-unpack.ts";
import type { CommandContext } from "./command.ts";

export { UNPACK_VERB };

export function unpackHelperVerb(args: string[], ctx: CommandContext): Promise<number> {
  return runUnpackHelper(args, ctx.out);
}

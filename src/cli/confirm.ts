/** podman's confirmation prompt: the warning on stderr, then y/N read from stdin; no answer (EOF) is no. */
import type { CommandContext } from "./command.ts";

export async function confirm(ctx: CommandContext, warning: string[]): Promise<boolean> {
  for (const line of warning) ctx.err(line);
  process.stderr.write("Are you sure you want to continue? [y/N] ");
  for await (const line of console) return /^y(es)?$/i.test(line.trim());
  process.stderr.write("\n");
  return false;
}

/** Runs a verb on each named container as docker does: go on past failures, print each, exit non-zero. */
import { CtrError, errorText } from "../errors.ts";
import { containerStore } from "../runtime/container.ts";
import type { ContainerRecord } from "../runtime/container-store.ts";
import type { CommandContext } from "./command.ts";

export async function forEachContainer(
  ctx: CommandContext,
  names: string[],
  verb: string,
  fn: (rec: ContainerRecord, name: string) => Promise<void> | void,
  notFoundCode = 125,
): Promise<number> {
  if (names.length === 0) throw new CtrError(`${verb} requires at least one container name or ID`, { kind: "invalid" });
  const store = containerStore();
  let code = 0;
  for (const name of names.map(String)) {
    try {
      await fn(store.get(name), name);
    } catch (err) {
      ctx.err(`Error: ${errorText(err)}`);
      const c = err instanceof CtrError ? (err.kind === "not-found" ? notFoundCode : err.exitCode) : 125;
      if (code === 0 || c === 125) code = c;
    }
  }
  return code;
}

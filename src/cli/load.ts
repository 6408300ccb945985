/** `ctr load [-i FILE]`: images from a docker-archive or oci-archive (stdin by default). */
import type { CAC } from "cac";
import { existsSync } from "node:fs";
import { isatty } from "node:tty";
import { CtrError } from "../errors.ts";
import { loadArchive } from "../image/archive/load.ts";
import { openImageContext } from "../image/image-context.ts";
import type { CommandContext } from "./command.ts";
import { str } from "./options.ts";

export function registerLoad(cli: CAC, ctx: CommandContext): void {
  cli
    .command("load", "Load images from an archive")
    .option("-i, --input <file>", "Read from a file instead of stdin")
    .option("-q, --quiet", "Suppress the progress output")
    .action(async (o: Record<string, unknown>) => {
      const input = str(o.input);
      if (input !== undefined && !existsSync(input)) throw new CtrError(`cannot open archive "${input}": no such file`, { kind: "invalid" });
      if (input === undefined && isatty(0)) throw new CtrError("cannot read an archive from a terminal: use -i or redirect stdin", { kind: "invalid" });
      const source = input === undefined ? Bun.stdin.stream() : Bun.file(input).stream();
      const loaded = await loadArchive(openImageContext(), source);
      for (const name of loaded) ctx.out(`Loaded image: ${name}`);
      return 0;
    });
}

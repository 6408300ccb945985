/** `ctr import [-c CHANGE]… [-m MSG] FILE|- [IMAGE]`: a filesystem tarball as a one-layer image. */
import type { CAC } from "cac";
import { existsSync } from "node:fs";
import { isatty } from "node:tty";
import { CtrError } from "../errors.ts";
import { importTar } from "../image/commit.ts";
import { openImageContext } from "../image/image-context.ts";
import { STDIO_ARG, type CommandContext } from "./command.ts";
import { list, str } from "./options.ts";

export function registerImport(cli: CAC, ctx: CommandContext): void {
  cli
    .command("import <file> [image]", "Create an image from a tarball")
    .option("-c, --change <instruction>", "Apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, …)")
    .option("-m, --message <text>", "Commit message")
    .option("-q, --quiet", "Suppress output")
    .option("--platform <platform>", "Accepted for docker compatibility: the image is for this host")
    .action(async (file: string, image: string | undefined, o: Record<string, unknown>) => {
      const path = file === STDIO_ARG ? "-" : String(file);
      if (/^[a-z]+:\/\//.test(path)) throw new CtrError(`cannot import "${path}": URLs are not supported, give a file or - for stdin`, { kind: "invalid" });
      if (path === "-" && isatty(0)) throw new CtrError("cannot read a tarball from a terminal: redirect stdin", { kind: "invalid" });
      if (path !== "-" && !existsSync(path)) throw new CtrError(`cannot import "${path}": no such file`, { kind: "invalid" });
      const source = path === "-" ? Bun.stdin.stream() : Bun.file(path).stream();
      const rec = await importTar(openImageContext(), source, {
        changes: list(o.change),
        message: str(o.message),
        name: image === undefined ? undefined : String(image),
      });
      ctx.out(`sha256:${rec.id.slice(7)}`);
      return 0;
    });
}

/** `ctr cp [-a] SRC DEST`: files between a container (`CONTAINER:PATH`) and the host, either way; `-` is a tar on stdin/stdout. */
import type { CAC } from "cac";
import { isatty } from "node:tty";
import { CtrError } from "../errors.ts";
import { containerStore } from "../runtime/container.ts";
import { isRunning, rerunForContainer, rerunForRunningContainer } from "../runtime/fs/container-fs.ts";
import { inContainerUserns } from "../runtime/fs/userns.ts";
import { copyFromContainer, copyToContainer, CP_EXTRACT_VERB, parseCopyArg, runCopyExtract } from "../runtime/fs/copy.ts";
import { STDIO_ARG, type CommandContext } from "./command.ts";
import { bool } from "./options.ts";

export function registerCp(cli: CAC, ctx: CommandContext): void {
  cli
    .command("cp <src> <dest>", "Copy files between a container and the host")
    .option("-a, --archive", "Keep owners (uid/gid) of the copied files")
    .option("-L, --follow-link", "Accepted for docker compatibility")
    .option("-q, --quiet", "Suppress progress output")
    .option("--overwrite", "Accepted for podman compatibility: files are overwritten")
    .action(async (src: string, dest: string, o: Record<string, unknown>) => {
      const from = src === STDIO_ARG ? { path: "-" } : parseCopyArg(String(src));
      const to = dest === STDIO_ARG ? { path: "-" } : parseCopyArg(String(dest));
      const opts = { archive: bool(o.archive), log: ctx.err };
      if (from.container !== undefined && to.container !== undefined) throw new CtrError("copying between containers is not supported", { kind: "invalid" });
      if (from.container === undefined && to.container === undefined) throw new CtrError("one of source and destination must be a container path (CONTAINER:PATH)", { kind: "invalid" });
      const store = containerStore();
      const rec = store.get((from.container ?? to.container)!);
      // Its non-root users' files are only ours inside a user namespace mapped like the container's.
      if (!inContainerUserns()) {
        const rerun = await (isRunning(rec) ? rerunForRunningContainer(rec) : rerunForContainer(rec));
        if (rerun !== undefined) return rerun;
      }
      if (from.container !== undefined) {
        if (to.path === "-" && isatty(1)) throw new CtrError("refusing to write a tar to a terminal: redirect stdout", { kind: "invalid" });
        await copyFromContainer(rec, from.path, to.path, opts, (c) => process.stdout.write(c));
      } else {
        if (from.path === "-" && isatty(0)) throw new CtrError("cannot read a tar from a terminal: redirect stdin", { kind: "invalid" });
        await copyToContainer(rec, from.path, to.path, opts, from.path === "-" ? Bun.stdin.stream() : undefined);
      }
      return 0;
    });
}

export { CP_EXTRACT_VERB };

/** `ctr __cp-extract DIR TOP AS`: hidden, not in --help; see `runCopyExtract`. */
export function copyExtractVerb(args: string[], ctx: CommandContext): Promise<number> {
  return runCopyExtract(args, ctx.err);
}

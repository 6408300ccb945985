/** `ctr exec CONTAINER COMMAND [ARG…]`: run a command in a running container. */
import type { CAC } from "cac";
import { containerStore } from "../runtime/container.ts";
import { execInContainer } from "../runtime/exec.ts";
import type { CommandContext } from "./command.ts";
import { expandEnv, readEnvFiles } from "./env-file.ts";
import { bool, list, str } from "./options.ts";

export function registerExec(cli: CAC, ctx: CommandContext): void {
  cli
    .command("exec <container> [...command]", "Run a process in a running container")
    .option("-i, --interactive", "Keep STDIN open")
    .option("-t, --tty", "Allocate a pseudo-TTY")
    .option("-d, --detach", "Run the command in the background")
    .option("-u, --user <user>", "Username or UID[:GID]")
    .option("-w, --workdir <dir>", "Working directory inside the container")
    .option("-e, --env <env>", "Set environment variables")
    .option("--env-file <file>", "Read environment variables from a file")
    .option("--detach-keys <keys>", "Key sequence for detaching (default ctrl-p,ctrl-q)")
    .option("--privileged", "Give the process every capability (within the container's user namespace)")
    .action(async (container: string, _command: string[], o: Record<string, unknown>) => {
      const rec = containerStore().get(String(container));
      return execInContainer(rec, {
        args: ctx.rest,
        env: [...readEnvFiles(list(o.envFile)), ...expandEnv(list(o.env))],
        user: str(o.user),
        workdir: str(o.workdir),
        tty: bool(o.tty),
        interactive: bool(o.interactive),
        detach: bool(o.detach),
        privileged: bool(o.privileged),
        detachKeys: str(o.detachKeys),
        log: ctx.err,
      });
    });
}

/** `ctr run IMAGE [COMMAND [ARG…]]`: create a container and start it, attached or detached. */
import type { CAC } from "cac";
import { openImageContext } from "../image/image-context.ts";
import { createContainer, removeContainer, startContainer, type PullPolicy } from "../runtime/container.ts";
import type { CommandContext } from "./command.ts";
import { expandEnv, readEnvFiles } from "./env-file.ts";
import { bool, keyValues, list, oneOf, str } from "./options.ts";

const PULL_POLICIES: readonly PullPolicy[] = ["always", "missing", "never", "newer"];

export function registerRun(cli: CAC, ctx: CommandContext): void {
  cli
    .command("run <image> [...command]", "Run a command in a new container")
    .option("-d, --detach", "Run the container in the background and print its ID")
    .option("-i, --interactive", "Keep STDIN open")
    .option("-t, --tty", "Allocate a pseudo-TTY")
    .option("--rm", "Remove the container when it exits")
    .option("--name <name>", "Assign a name to the container")
    .option("-e, --env <env>", "Set environment variables (KEY=VALUE, or KEY to copy from the host)")
    .option("--env-file <file>", "Read environment variables from a file")
    .option("-w, --workdir <dir>", "Working directory inside the container")
    .option("-u, --user <user>", "Username or UID[:GID]")
    .option("--hostname <name>", "Container hostname (-h)")
    .option("--entrypoint <cmd>", "Overwrite the image's ENTRYPOINT")
    .option("--pull <policy>", "Pull image policy: always, missing, never, newer", { default: "missing" })
    .option("--platform <os/arch>", "Platform to pull if the image is not local")
    .option("--read-only", "Mount the container's root filesystem read-only")
    .option("-l, --label <label>", "Set metadata on the container (KEY=VALUE)")
    .action(async (image: string, _command: string[], o: Record<string, unknown>) => {
      const detach = bool(o.detach);
      const rm = bool(o.rm);
      const rec = await createContainer(openImageContext(), {
        image,
        args: ctx.rest,
        name: str(o.name),
        entrypoint: str(o.entrypoint),
        env: [...readEnvFiles(list(o.envFile)), ...expandEnv(list(o.env))],
        workdir: str(o.workdir),
        user: str(o.user),
        hostname: str(o.hostname),
        tty: bool(o.tty),
        rm,
        pull: oneOf("pull", o.pull, PULL_POLICIES, "missing"),
        platform: str(o.platform),
        readOnly: bool(o.readOnly),
        labels: keyValues("label", o.label),
        log: ctx.err,
      });
      let status: number;
      try {
        status = await startContainer(rec, { detach, stdin: bool(o.interactive), log: ctx.err });
      } catch (err) {
        if (rm) await removeContainer(rec, true).catch(() => {});
        throw err;
      }
      if (detach) {
        ctx.out(rec.id);
        return 0;
      }
      if (rm) await removeContainer(rec, true);
      return status;
    });
}

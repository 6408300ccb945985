/** `ctr logs CONTAINER`: what the container wrote, from its log file; `-f` follows it. */
import type { CAC } from "cac";
import { writeSync } from "node:fs";
import { CtrError } from "../errors.ts";
import { containerStore, logFileOf, stateDirOf } from "../runtime/container.ts";
import { parseLogTime, readLogs } from "../runtime/logs.ts";
import { readLiveState } from "../runtime/state.ts";
import type { CommandContext } from "./command.ts";
import { bool, str } from "./options.ts";

export function registerLogs(cli: CAC, _ctx: CommandContext): void {
  cli
    .command("logs <container>", "Fetch the logs of a container")
    .option("-f, --follow", "Follow log output")
    .option("-t, --timestamps", "Show timestamps")
    .option("-n, --tail <n>", "Number of lines to show from the end of the logs (default all)")
    .option("--since <time>", "Show logs since a time (RFC 3339, unix seconds) or duration (10m)")
    .option("--until <time>", "Show logs before a time (RFC 3339, unix seconds) or duration (10m)")
    .action(async (container: string, o: Record<string, unknown>) => {
      const rec = containerStore().get(String(container));
      const tailText = str(o.tail);
      let tail: number | undefined;
      if (tailText !== undefined && tailText !== "all" && tailText !== "-1") {
        tail = Number(tailText);
        if (!Number.isInteger(tail) || tail < 0) throw new CtrError(`invalid --tail "${tailText}": expected a number or "all"`, { kind: "invalid" });
      }
      const since = str(o.since);
      const until = str(o.until);
      const timestamps = bool(o.timestamps);
      const stateDir = stateDirOf(rec.id);
      await readLogs(logFileOf(rec.id), {
        follow: bool(o.follow),
        tail,
        since: since === undefined ? undefined : parseLogTime("since", since),
        until: until === undefined ? undefined : parseLogTime("until", until),
        // Between two runs of a restart policy the log goes on: keep following.
        running: () => ["running", "restarting"].includes(readLiveState(stateDir).status),
        emit: (r) => {
          const text = `${timestamps ? `${r.time} ` : ""}${r.text}${r.newline ? "\n" : ""}`;
          try {
            writeSync(r.stream === "stderr" ? 2 : 1, text);
            return true;
          } catch (err) {
            // `ctr logs … | head`: the reader has had enough.
            if ((err as NodeJS.ErrnoException).code === "EPIPE") return false;
            throw err;
          }
        },
      });
      return 0;
    });
}

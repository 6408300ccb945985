/** `ctr ps`: containers with their live status, as docker lists them. */
import type { CAC } from "cac";
import { containerStore, stateDirOf } from "../runtime/container.ts";
import { readLiveState, type LiveState } from "../runtime/state.ts";
import type { CommandContext } from "./command.ts";
import { bool } from "./options.ts";
import { since, table } from "./table.ts";

export function statusText(s: LiveState, created: string): string {
  switch (s.status) {
    case "running":
      return `Up ${since(created).replace(/ ago$/, "")}`;
    case "exited":
      return `Exited (${s.exitCode ?? 0}) ${s.finishedAt ? since(new Date(s.finishedAt).toISOString()) : ""}`.trimEnd();
    case "stopped":
      return "Exited (unknown: monitor was killed)";
    default:
      return "Created";
  }
}

export function registerPs(cli: CAC, ctx: CommandContext): void {
  cli
    .command("ps", "List containers")
    .option("-a, --all", "Show all containers (default shows just running)")
    .option("-q, --quiet", "Only display container IDs")
    .option("--no-trunc", "Don't truncate output")
    .action((o: Record<string, unknown>) => {
      const all = bool(o.all);
      const noTrunc = o.trunc === false;
      const list = containerStore()
        .list()
        .map((c) => ({ c, s: readLiveState(stateDirOf(c.id)) }))
        .filter(({ s }) => all || s.status === "running")
        .sort((a, b) => b.c.created.localeCompare(a.c.created));
      const id = (x: string) => (noTrunc ? x : x.slice(0, 12));
      if (bool(o.quiet)) {
        for (const { c } of list) ctx.out(id(c.id));
        return 0;
      }
      const rows = list.map(({ c, s }) => {
        const cmd = c.command.join(" ");
        return [id(c.id), c.imageName, noTrunc || cmd.length <= 20 ? cmd : `${cmd.slice(0, 19)}…`, since(c.created), statusText(s, c.created), "", c.name];
      });
      for (const line of table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], rows)) ctx.out(line);
      return 0;
    });
}

/** `ctr stats [--no-stream] [CONTAINER…]`: CPU and memory of running containers, from /proc. */
import type { CAC } from "cac";
import { totalmem } from "node:os";
import { writeSync } from "node:fs";
import { isatty } from "node:tty";
import type { ContainerRecord } from "../runtime/container-store.ts";
import { containerStore, stateDirOf } from "../runtime/container.ts";
import { containerPids, processUsage } from "../runtime/processes.ts";
import { readLiveState } from "../runtime/state.ts";
import type { CommandContext } from "./command.ts";
import { formatRows, type Column } from "./format/output.ts";
import { bool, str } from "./options.ts";
import { binarySize } from "../image/progress.ts";

const COLUMNS: Column[] = [
  { header: "CONTAINER ID", field: "ID" },
  { header: "NAME", field: "Name" },
  { header: "CPU %", field: "CPUPerc" },
  { header: "MEM USAGE / LIMIT", field: "MemUsage" },
  { header: "MEM %", field: "MemPerc" },
  { header: "NET I/O", field: "NetIO" },
  { header: "BLOCK I/O", field: "BlockIO" },
  { header: "PIDS", field: "PIDs" },
];

function sample(rec: ContainerRecord): { ticks: number; rss: number; pids: number } {
  let ticks = 0;
  let rss = 0;
  let pids = 0;
  try {
    for (const pid of containerPids(rec)) {
      const u = processUsage(pid);
      if (!u) continue;
      ticks += u.cpuTicks;
      rss += u.rssBytes;
      pids++;
    }
  } catch {
    // it stopped meanwhile
  }
  return { ticks, rss, pids };
}

export function registerStats(cli: CAC, _ctx: CommandContext): void {
  cli
    .command("stats [...containers]", "Display a live stream of container resource usage statistics")
    .option("-a, --all", "Show all containers (default shows just running)")
    .option("--no-stream", "Disable streaming stats and only pull the first result")
    .option("--no-trunc", "Do not truncate output")
    .option("--format <format>", "Pretty-print using a Go template, table or json")
    .action(async (names: string[], o: Record<string, unknown>) => {
      const store = containerStore();
      const recs = names.length > 0 ? names.map((n) => store.get(String(n))) : store.list().filter((c) => bool(o.all) || readLiveState(stateDirOf(c.id)).status === "running");
      const limit = totalmem();
      // Streaming to a terminal: each sample replaces the last, as in docker and podman.
      const redraw = o.stream !== false && isatty(1) ? "\x1b[H\x1b[2J" : "";
      for (;;) {
        const first = recs.map(sample);
        const t0 = performance.now();
        await Bun.sleep(500);
        const seconds = (performance.now() - t0) / 1000;
        const rows = recs.map((c, i) => {
          const s = sample(c);
          const cpu = Math.max(0, (s.ticks - first[i]!.ticks) / 100 / seconds) * 100;
          return {
            ID: o.trunc === false ? c.id : c.id.slice(0, 12),
            Name: c.name,
            CPUPerc: `${cpu.toFixed(2)}%`,
            MemUsage: `${binarySize(s.rss, 2)} / ${binarySize(limit, 2)}`,
            MemPerc: `${((s.rss / limit) * 100).toFixed(2)}%`,
            NetIO: "-- / --",
            BlockIO: "-- / --",
            PIDs: String(s.pids),
          };
        });
        const lines = formatRows(str(o.format), rows, COLUMNS);
        if (redraw) lines[0] = redraw + (lines[0] ?? "");
        try {
          // Synchronous, so that a reader gone away (`ctr stats | head`) ends the stream here.
          writeSync(1, lines.map((l) => `${l}\n`).join(""));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "EPIPE") return 0;
          throw err;
        }
        if (o.stream === false) return 0;
      }
    });
}

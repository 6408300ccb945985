/** `ctr ps`: containers with their live status, as docker lists them. */
import type { CAC } from "cac";
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { CtrError } from "../errors.ts";
import type { ContainerRecord } from "../runtime/container-store.ts";
import { containerStore, stateDirOf } from "../runtime/container.ts";
import { readLiveState, type LiveState } from "../runtime/state.ts";
import { formatPortMapping } from "../network/ports.ts";
import { readPorts } from "../network/slirp.ts";
import { networksOf } from "../network/endpoints.ts";
import type { CommandContext } from "./command.ts";
import { parseFilters, type FilterValue } from "./format/filters.ts";
import { formatRows, type Column } from "./format/output.ts";
import { bool, list, str } from "./options.ts";
import { humanSize, since } from "./table.ts";

export function statusText(s: LiveState, created: string): string {
  switch (s.status) {
    case "running":
      return `Up ${since(s.startedAt ? new Date(s.startedAt).toISOString() : created).replace(/ ago$/, "")}${s.paused ? " (Paused)" : ""}`;
    case "exited":
      return `Exited (${s.exitCode ?? 0}) ${s.finishedAt ? since(new Date(s.finishedAt).toISOString()) : ""}`.trimEnd();
    case "restarting":
      return `Restarting (${s.exitCode ?? 0}) ${s.finishedAt ? since(new Date(s.finishedAt).toISOString()) : ""}`.trimEnd();
    case "stopped":
      return "Exited (unknown: monitor was killed)";
    default:
      return "Created";
  }
}

const COLUMNS: Column[] = [
  { header: "CONTAINER ID", field: "ID" },
  { header: "IMAGE", field: "Image" },
  { header: "COMMAND", field: "Command" },
  { header: "CREATED", field: "CreatedAt" },
  { header: "STATUS", field: "Status" },
  { header: "PORTS", field: "Ports" },
  { header: "NAMES", field: "Names" },
];

const HEADERS: Record<string, string> = {
  ID: "CONTAINER ID",
  Image: "IMAGE",
  Command: "COMMAND",
  CreatedAt: "CREATED",
  RunningFor: "CREATED",
  Status: "STATUS",
  State: "STATE",
  Ports: "PORTS",
  Names: "NAMES",
  Labels: "LABELS",
  ImageID: "IMAGE ID",
  Pid: "PID",
  ExitCode: "EXIT CODE",
};

const FILTER_KEYS = ["id", "name", "status", "label", "ancestor", "exited", "before", "since", "network"] as const;

/** The docker status word a `status=` filter matches. */
function stateWord(s: LiveState): string {
  if (s.status === "running" && s.paused) return "paused";
  return s.status === "stopped" ? "exited" : s.status;
}

function matches(c: ContainerRecord, s: LiveState, filters: Map<string, FilterValue[]>): boolean {
  const test = (key: string, pred: (v: string) => boolean): boolean => {
    const values = filters.get(key);
    if (!values) return true;
    const positive = values.filter((v) => !v.negate);
    const negative = values.filter((v) => v.negate);
    return (positive.length === 0 || positive.some((v) => pred(v.value))) && !negative.some((v) => pred(v.value));
  };
  const createdOf = (ref: string) => {
    try {
      return containerStore().get(ref).created;
    } catch {
      throw new CtrError(`invalid filter: no such container "${ref}"`, { kind: "invalid" });
    }
  };
  return (
    test("id", (v) => c.id.startsWith(v)) &&
    test("name", (v) => new RegExp(v).test(c.name)) &&
    test("status", (v) => stateWord(s) === v) &&
    test("label", (v) => {
      const eq = v.indexOf("=");
      return eq < 0 ? v in c.labels : c.labels[v.slice(0, eq)] === v.slice(eq + 1);
    }) &&
    test("ancestor", (v) => c.image === v || c.imageName === v || c.imageName.startsWith(`${v}:`) || c.imageName.endsWith(`/${v}`) || c.imageName.includes(`/${v}:`) || c.imageId.replace(/^sha256:/, "").startsWith(v.replace(/^sha256:/, ""))) &&
    test("exited", (v) => s.status === "exited" && String(s.exitCode) === v) &&
    test("before", (v) => c.created < createdOf(v)) &&
    test("since", (v) => c.created > createdOf(v)) &&
    test("network", (v) => networksOf(c).includes(v))
  );
}

/** Bytes in a tree, as far as we may read it (a container's non-root files may be closed to us). */
function treeSize(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    try {
      const st = lstatSync(join(dir, name));
      total += st.isDirectory() ? treeSize(join(dir, name)) : st.size;
    } catch {
      // vanished or unreadable
    }
  }
  return total;
}

export function registerPs(cli: CAC, ctx: CommandContext): void {
  cli
    .command("ps", "List containers")
    .option("-a, --all", "Show all containers (default shows just running)")
    .option("-q, --quiet", "Only display container IDs")
    .option("-l, --latest", "Show the latest created container (all states)")
    .option("-n, --last <n>", "Show the n last created containers (all states)")
    .option("-s, --size", "Display total file sizes")
    .option("--no-trunc", "Don't truncate output")
    .option("-f, --filter <filter>", "Filter output based on conditions given")
    .option("--format <format>", "Pretty-print containers using a Go template, table or json")
    .action((o: Record<string, unknown>) => {
      const noTrunc = o.trunc === false;
      const filterValues = list(o.filter);
      const filters = filterValues.length > 0 ? parseFilters(filterValues, FILTER_KEYS) : new Map<string, FilterValue[]>();
      let last = str(o.last) === undefined ? -1 : Number(str(o.last));
      if (!Number.isInteger(last)) throw new CtrError(`invalid --last "${str(o.last)}": expected a number`, { kind: "invalid" });
      if (bool(o.latest)) last = 1;
      const all = bool(o.all) || last > 0 || filters.has("status") || filters.has("exited");
      const records = containerStore().list();
      let rows = records
        .map((c) => ({ c, s: readLiveState(stateDirOf(c.id)) }))
        .sort((a, b) => b.c.created.localeCompare(a.c.created))
        .filter(({ c, s }) => (all || s.status === "running") && matches(c, s, filters));
      if (last > 0) rows = rows.slice(0, last);
      const id = (x: string) => (noTrunc ? x : x.slice(0, 12));
      if (bool(o.quiet)) {
        for (const { c } of rows) ctx.out(id(c.id));
        return 0;
      }
      const withSize = bool(o.size);
      const columns = withSize ? [...COLUMNS, { header: "SIZE", field: "Size" }] : COLUMNS;
      const data = rows.map(({ c, s }) => {
        const cmd = c.command.join(" ");
        return {
          ID: id(c.id),
          Image: c.imageName,
          ImageID: c.imageId,
          Command: noTrunc || cmd.length <= 20 ? cmd : `${cmd.slice(0, 19)}…`,
          CreatedAt: since(c.created),
          RunningFor: since(c.created),
          Created: Math.floor(Date.parse(c.created) / 1000),
          Status: statusText(s, c.created),
          State: stateWord(s),
          Ports: s.status === "running" ? readPorts(stateDirOf(c.id)).map(formatPortMapping).join(", ") : "",
          Names: c.name,
          Labels: c.labels,
          Pid: s.status === "running" ? s.pid ?? 0 : 0,
          ExitCode: s.exitCode ?? 0,
          Size: withSize ? `${humanSize(treeSize(c.rootfs.upperDir))} (virtual ${humanSize(c.rootfs.lowerDirs.reduce((n, d) => n + treeSize(d), treeSize(c.rootfs.upperDir)))})` : "",
          Mounts: [],
          Networks: networksOf(c),
        } as Record<string, unknown>;
      });
      const format = str(o.format);
      // --format json is podman's document, not the template fields: full id, arrays for the command and names.
      const rowsOut = format !== undefined && /^\s*(?:json|\{\{\s*json\s*\.?\s*\}\})\s*$/.test(format) ? rows.map(({ c, s }, i) => jsonRow(c, s, data[i]!)) : data;
      for (const line of formatRows(format, rowsOut, columns, { ...HEADERS, Size: "SIZE" })) ctx.out(line);
      return 0;
    });
}

/** Unix seconds of an ISO time or ms, Go's zero time (as podman prints it) when unknown. */
function unixOrZero(ms: number | undefined): number {
  return ms ? Math.floor(ms / 1000) : -62135596800;
}

/** One container as `podman ps --format json` shows it. */
function jsonRow(c: ContainerRecord, s: LiveState, row: Record<string, unknown>): Record<string, unknown> {
  const exited = s.status === "exited" || s.status === "stopped";
  return {
    AutoRemove: c.autoRemove,
    Command: c.command,
    CreatedAt: row.CreatedAt,
    Exited: exited,
    ExitedAt: unixOrZero(exited ? s.finishedAt : undefined),
    ExitCode: s.exitCode ?? 0,
    Id: c.id,
    Image: c.imageName,
    ImageID: c.imageId.replace(/^sha256:/, ""),
    Labels: c.labels,
    Mounts: row.Mounts,
    Names: [c.name],
    Networks: row.Networks,
    Pid: row.Pid,
    Ports: row.Ports === "" ? null : row.Ports,
    Size: row.Size === "" ? null : row.Size,
    StartedAt: unixOrZero(s.startedAt),
    State: row.State,
    Status: row.Status,
    Created: row.Created,
  };
}


/** `ctr volume create|ls|inspect|rm|prune`, as podman spells them. */
import type { CAC } from "cac";
import { CtrError, errorText } from "../errors.ts";
import { containerStore, removeContainer } from "../runtime/container.ts";
import { containersUsing, pruneVolumes, removeVolume } from "../volume/remove.ts";
import { anonymousVolumeName, type VolumeRecord } from "../volume/store.ts";
import { volumeStore } from "../volume/volumes.ts";
import type { CommandContext } from "./command.ts";
import { confirm } from "./confirm.ts";
import { parseFilters, type FilterValue } from "./format/filters.ts";
import { formatObjects, formatRows, type Column } from "./format/output.ts";
import { bool, keyValues, list, str } from "./options.ts";

const VOLUME_FILTERS = ["name", "label", "label!", "driver", "dangling", "scope"] as const;

function labelMatches(v: VolumeRecord, want: string): boolean {
  const eq = want.indexOf("=");
  const key = eq < 0 ? want : want.slice(0, eq);
  if (!(key in v.Labels)) return false;
  return eq < 0 || v.Labels[key] === want.slice(eq + 1);
}

/** docker's semantics: label values must all match; other keys match any of their values. */
function volumeFilter(filters: Map<string, FilterValue[]>): (v: VolumeRecord) => boolean {
  const containers = containerStore().list();
  const one = (key: string, value: string, v: VolumeRecord): boolean => {
    switch (key) {
      case "name":
        return v.Name.includes(value);
      case "label":
        return labelMatches(v, value);
      case "driver":
        return v.Driver === value;
      case "scope":
        return v.Scope === value;
      case "dangling": {
        if (!["true", "false", "1", "0"].includes(value)) throw new CtrError(`invalid filter "dangling=${value}": expected true or false`, { kind: "invalid" });
        const dangling = containersUsing(containers, v.Name).length === 0;
        return dangling === (value === "true" || value === "1");
      }
      default:
        return true;
    }
  };
  return (v) =>
    [...filters].every(([key, values]) =>
      key === "label" ? values.every((f) => one(key, f.value, v) !== f.negate) : values.some((f) => one(key, f.value, v) !== f.negate),
    );
}

export function registerVolume(cli: CAC, ctx: CommandContext): void {
  cli
    .command("volume-create [name]", "Create a volume")
    .option("-l, --label <label>", "Set metadata for a volume (KEY=VALUE)")
    .option("-o, --opt <option>", "Driver options: type=tmpfs, device=DIR, o=bind")
    .option("-d, --driver <driver>", "Volume driver (only local)")
    .option("--ignore", "Do nothing if the volume already exists")
    .action(async (name: string | undefined, o: Record<string, unknown>) => {
      const driver = str(o.driver);
      if (driver !== undefined && driver !== "local") throw new CtrError(`unsupported volume driver "${driver}": only local`, { kind: "invalid" });
      const vol = await volumeStore().create(name === undefined ? anonymousVolumeName() : String(name), { labels: keyValues("label", o.label), options: keyValues("opt", o.opt) }, bool(o.ignore));
      ctx.out(vol.Name);
      return 0;
    });

  cli
    .command("volume-ls", "List volumes")
    .option("-q, --quiet", "Print volume names only")
    .option("-f, --filter <filter>", "Filter volumes (name, label, driver, dangling)")
    .option("--format <template>", "Pretty-print volumes using a Go template")
    .option("-n, --noheading", "Do not print column headings")
    .action((o: Record<string, unknown>) => {
      const given = list(o.filter);
      const keep = given.length > 0 ? volumeFilter(parseFilters(given, VOLUME_FILTERS)) : () => true;
      const vols = volumeStore().list().filter(keep).sort((a, b) => a.Name.localeCompare(b.Name));
      if (bool(o.quiet)) {
        for (const v of vols) ctx.out(v.Name);
        return 0;
      }
      const columns: Column[] = [
        { header: "DRIVER", field: "Driver" },
        { header: "VOLUME NAME", field: "Name" },
      ];
      const rows = vols.map((v) => ({ Name: v.Name, Driver: v.Driver, Mountpoint: v.Mountpoint, Labels: v.Labels, Scope: v.Scope, CreatedAt: v.CreatedAt, Options: v.Options, Anonymous: v.Anonymous }));
      let lines = formatRows(str(o.format), rows, columns, { Name: "VOLUME NAME" });
      if (bool(o.noheading) && !str(o.format)) lines = lines.slice(1);
      for (const line of lines) ctx.out(line);
      return 0;
    });

  cli
    .command("volume-inspect [...names]", "Show details of volumes")
    .option("-f, --format <template>", "Format the output using a Go template")
    .option("-a, --all", "Inspect all volumes")
    .action((names: string[], o: Record<string, unknown>) => {
      const store = volumeStore();
      if (names.length === 0 && !bool(o.all)) throw new CtrError("volume inspect requires at least one volume name (or --all)", { kind: "invalid" });
      const containers = containerStore().list();
      const vols = bool(o.all) ? store.list() : names.map((n) => store.get(String(n)));
      const shown = vols.map(({ NeedsCopyUp, ...v }) => ({ ...v, NeedsCopyUp, MountCount: containersUsing(containers, v.Name).length }));
      for (const line of formatObjects(str(o.format), shown)) ctx.out(line);
      return 0;
    });

  cli
    .command("volume-rm [...names]", "Remove volumes")
    .option("-f, --force", "Remove the containers using the volume first")
    .option("-a, --all", "Remove all volumes")
    .action(async (names: string[], o: Record<string, unknown>) => {
      const store = volumeStore();
      const targets = bool(o.all) ? store.list().map((v) => v.Name) : names.map(String);
      if (targets.length === 0 && !bool(o.all)) throw new CtrError("volume rm requires at least one volume name (or --all)", { kind: "invalid" });
      // podman: 1 no such volume, 2 volume in use, 125 other failures.
      let code = 0;
      for (const name of targets) {
        try {
          if (bool(o.force)) {
            store.get(name);
            for (const c of containersUsing(containerStore().list(), name)) {
              await removeContainer(c, true);
            }
          }
          await removeVolume(store, name, () => containerStore().list());
          ctx.out(name);
        } catch (err) {
          ctx.err(`Error: ${errorText(err)}`);
          const c = err instanceof CtrError ? (err.kind === "not-found" ? 1 : err.kind === "conflict" ? 2 : err.exitCode) : 125;
          if (code === 0 || c === 125) code = c;
        }
      }
      return code;
    });

  cli
    .command("volume-prune", "Remove all volumes no container uses")
    .option("-f, --force", "Do not prompt for confirmation")
    .option("-a, --all", "Accepted for docker: podman, and ctr, prune named volumes too")
    .option("--filter <filter>", "Only prune volumes that match (label, name, driver)")
    .action(async (o: Record<string, unknown>) => {
      const given = list(o.filter);
      const keep = given.length > 0 ? volumeFilter(parseFilters(given, VOLUME_FILTERS)) : () => true;
      if (!bool(o.force)) {
        const containers = containerStore().list();
        const unused = volumeStore().list().filter((v) => keep(v) && containersUsing(containers, v.Name).length === 0);
        if (unused.length === 0) return 0;
        const warning = ["WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:", ...unused.map((v) => v.Name)];
        if (!(await confirm(ctx, warning))) return 0;
      }
      for (const name of await pruneVolumes(volumeStore(), () => containerStore().list(), keep)) ctx.out(name);
      return 0;
    });
}

/** `ctr system df|prune|reset|check`, as podman spells them (docker's `Build Cache` row included in df). */
import type { CAC } from "cac";
import { CtrError } from "../errors.ts";
import { openImageContext } from "../image/image-context.ts";
import { ctrPaths } from "../paths.ts";
import { containerStore, removeContainer } from "../runtime/container.ts";
import { checkStore } from "../system/check.ts";
import { gatherFacts } from "../system/facts.ts";
import { systemPrune } from "../system/prune.ts";
import { resetStore } from "../system/reset.ts";
import { dfSummary, imageUsage } from "../system/usage.ts";
import { volumeStore } from "../volume/volumes.ts";
import type { CommandContext } from "./command.ts";
import { confirm } from "./confirm.ts";
import { formatRows, type Column } from "./format/output.ts";
import { bool, str } from "./options.ts";
import { humanSize, since } from "./table.ts";

function reclaimable(raw: number, size: number): string {
  return `${humanSize(raw)} (${size > 0 ? Math.round((raw / size) * 100) : 0}%)`;
}

function registerDf(cli: CAC, ctx: CommandContext): void {
  cli
    .command("system-df", "Show disk usage of images, containers and volumes")
    .option("-v, --verbose", "Show each image, container and volume")
    .option("--format <template>", "Pretty-print with a Go template (fields Type, Total, Active, Size, Reclaimable, RawSize, RawReclaimable)")
    .action((o: Record<string, unknown>) => {
      const format = str(o.format);
      if (format && bool(o.verbose)) throw new CtrError("cannot combine --format and --verbose flags", { kind: "invalid" });
      const facts = gatherFacts(openImageContext(), containerStore(), volumeStore());
      if (!bool(o.verbose)) {
        const rows = dfSummary(facts).map((r) => ({ ...r, TotalCount: r.Total, Size: humanSize(r.RawSize), Reclaimable: reclaimable(r.RawReclaimable, r.RawSize) }));
        const columns: Column[] = [
          { header: "TYPE", field: "Type" },
          { header: "TOTAL", field: "Total" },
          { header: "ACTIVE", field: "Active" },
          { header: "SIZE", field: "Size" },
          { header: "RECLAIMABLE", field: "Reclaimable" },
        ];
        for (const line of formatRows(format, rows, columns)) ctx.out(line);
        return 0;
      }
      const section = (title: string, rows: Record<string, unknown>[], columns: Column[]) => {
        ctx.out(`${title} space usage:`);
        ctx.out("");
        for (const line of formatRows(undefined, rows, columns)) ctx.out(line);
        ctx.out("");
      };
      section(
        "Images",
        imageUsage(facts).map((u) => {
          const name = u.image.names[0];
          const colon = name ? name.lastIndexOf(":") : -1;
          return {
            Repository: name ? name.slice(0, colon) : "<none>",
            Tag: name ? name.slice(colon + 1) : "<none>",
            ID: u.image.id.slice(7, 19),
            Created: u.image.created ? since(u.image.created) : "",
            Size: humanSize(u.size),
            SharedSize: humanSize(u.shared),
            UniqueSize: humanSize(u.size - u.shared),
            Containers: u.containers,
          };
        }),
        [
          { header: "REPOSITORY", field: "Repository" },
          { header: "TAG", field: "Tag" },
          { header: "IMAGE ID", field: "ID" },
          { header: "CREATED", field: "Created" },
          { header: "SIZE", field: "Size" },
          { header: "SHARED SIZE", field: "SharedSize" },
          { header: "UNIQUE SIZE", field: "UniqueSize" },
          { header: "CONTAINERS", field: "Containers" },
        ],
      );
      section(
        "Containers",
        facts.containers.map((c) => ({
          ID: c.id.slice(0, 12),
          Image: c.image,
          Command: c.command.join(" "),
          LocalVolumes: c.volumes.length,
          Size: humanSize(c.bytes),
          Created: since(c.created),
          Status: c.status === "stopped" ? "exited" : c.status,
          Names: c.name,
        })),
        [
          { header: "CONTAINER ID", field: "ID" },
          { header: "IMAGE", field: "Image" },
          { header: "COMMAND", field: "Command" },
          { header: "LOCAL VOLUMES", field: "LocalVolumes" },
          { header: "SIZE", field: "Size" },
          { header: "CREATED", field: "Created" },
          { header: "STATUS", field: "Status" },
          { header: "NAMES", field: "Names" },
        ],
      );
      section(
        "Local Volumes",
        facts.volumes.map((v) => ({ Name: v.name, Links: facts.containers.filter((c) => c.volumes.includes(v.name)).length, Size: humanSize(v.bytes) })),
        [
          { header: "VOLUME NAME", field: "Name" },
          { header: "LINKS", field: "Links" },
          { header: "SIZE", field: "Size" },
        ],
      );
      ctx.out("Build cache usage: 0B");
      return 0;
    });
}

function registerPrune(cli: CAC, ctx: CommandContext): void {
  cli
    .command("system-prune", "Remove unused data: stopped containers, dangling images, and with options all unused images and volumes")
    .option("-a, --all", "Remove all unused images, not only dangling ones")
    .option("--volumes", "Remove the volumes no container uses too")
    .option("-f, --force", "Do not prompt for confirmation")
    .action(async (o: Record<string, unknown>) => {
      const all = bool(o.all);
      const volumes = bool(o.volumes);
      if (!bool(o.force)) {
        const warning = [
          "WARNING! This command removes:",
          "\t- all stopped containers",
          "\t- all networks not used by at least one container",
          ...(volumes ? ["\t- all volumes not used by at least one container"] : []),
          all ? "\t- all images without at least one container associated with them" : "\t- all dangling images",
          "",
        ];
        if (!(await confirm(ctx, warning))) return 0;
      }
      const r = await systemPrune(
        { images: openImageContext(), containers: containerStore(), volumes: volumeStore(), removeContainer: (rec) => removeContainer(rec, false) },
        { all, volumes },
      );
      const section = (title: string, items: string[]) => {
        if (items.length === 0) return;
        ctx.out(title);
        for (const i of items) ctx.out(i);
      };
      section("Deleted Containers", r.containers);
      section("Deleted Networks", r.networks);
      section("Deleted Volumes", r.volumes);
      section("Deleted Images", r.images);
      ctx.out(`Total reclaimed space: ${humanSize(r.bytes)}`);
      return 0;
    });
}

function registerReset(cli: CAC, ctx: CommandContext): void {
  cli
    .command("system-reset", "Remove all containers, images, volumes and networks, and the store itself")
    .option("-f, --force", "Do not prompt for confirmation")
    .action(async (o: Record<string, unknown>) => {
      if (!bool(o.force)) {
        const warning = ["WARNING! This will remove:", "\t- all containers", "\t- all images", "\t- all networks", "\t- all build cache", "\t- all volumes"];
        if (!(await confirm(ctx, warning))) return 0;
      }
      await resetStore(ctrPaths(), containerStore(), (rec) => removeContainer(rec, true));
      return 0;
    });
}

function registerCheck(cli: CAC, ctx: CommandContext): void {
  cli
    .command("system-check", "Check the store: every blob's digest, every image's content, every container's layers")
    .option("-r, --repair", "Remove damaged blobs, layers and the images that need them")
    .option("-f, --force", "With --repair, also remove damaged containers")
    .option("-q, --quick", "Skip rehashing every blob (faster, finds less)")
    .action(async (o: Record<string, unknown>) => {
      const repair = bool(o.repair);
      const r = await checkStore(openImageContext(), containerStore(), volumeStore(), {
        quick: bool(o.quick),
        repair,
        force: bool(o.force),
        removeContainer: (rec) => removeContainer(rec, true),
      });
      for (const p of r.problems) ctx.out(p.message);
      for (const line of r.removed) ctx.out(line);
      if (r.left.length === 0) return 0;
      if (!repair) throw new CtrError(`${r.left.length} problem(s) found: run "ctr system check --repair" to remove what is damaged`);
      throw new CtrError(`${r.left.length} problem(s) of damaged containers left: run "ctr system check --repair --force" to remove them`);
    });
}

export function registerSystem(cli: CAC, ctx: CommandContext): void {
  registerDf(cli, ctx);
  registerPrune(cli, ctx);
  registerReset(cli, ctx);
  registerCheck(cli, ctx);
}

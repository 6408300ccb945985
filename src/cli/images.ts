/** `ctr images` / `ctr image ls`: the local images, as docker lists them. */
import type { CAC } from "cac";
import { openImageContext } from "../image/image-context.ts";
import { IMAGE_FILTERS, listImages, type ListedImage } from "../image/list.ts";
import type { CommandContext } from "./command.ts";
import { parseFilters } from "./format/filters.ts";
import { formatRows, type Column } from "./format/output.ts";
import { bool, list, str } from "./options.ts";
import { humanSize, since } from "./table.ts";

/** One row per name (one `<none>` row for a dangling image), keyed by docker's template field names. */
function rows(images: ListedImage[], noTrunc: boolean): Record<string, unknown>[] {
  return images.flatMap((img) => {
    // A row's digest is the one its name was pulled by; else its repository's latest (an image may come from several).
    const digestOf = (name: string, repository: string) =>
      img.nameDigests?.[name] ?? img.repoDigests.findLast((r) => r.split("@")[0] === repository)?.split("@")[1] ?? "<none>";
    const base = {
      ID: noTrunc ? img.id : img.id.slice(7, 19),
      Digest: img.repoDigests[0]?.split("@")[1] ?? "<none>",
      CreatedSince: img.created ? since(img.created) : "",
      CreatedAt: img.created ?? "",
      Created: img.created ?? "",
      Size: humanSize(img.size),
      VirtualSize: humanSize(img.size),
      Labels: img.labels,
      Names: img.names,
      Dangling: img.names.length === 0,
      Containers: "N/A",
    };
    if (img.names.length === 0) return [{ Repository: "<none>", Tag: "<none>", ...base }];
    return img.names.map((n) => {
      const colon = n.lastIndexOf(":");
      return { Repository: n.slice(0, colon), Tag: n.slice(colon + 1), ...base, Digest: digestOf(n, n.slice(0, colon)) };
    });
  });
}

export function registerImages(cli: CAC, ctx: CommandContext): void {
  cli
    .command("images", "List images in local storage")
    .option("-a, --all", "Show all images (ctr keeps no intermediate images)")
    .option("-q, --quiet", "Show only image IDs")
    .option("--digests", "Show digests")
    .option("--no-trunc", "Do not truncate output")
    .option("-f, --filter <filter>", "Filter output based on conditions given")
    .option("--format <template>", "Pretty-print images using a Go template")
    .option("-n, --noheading", "Do not print column headings")
    .action((o: Record<string, unknown>) => {
      const given = list(o.filter);
      const filters = given.length > 0 ? parseFilters(given, IMAGE_FILTERS) : undefined;
      const images = listImages(openImageContext(), filters);
      // cac turns --no-trunc into trunc: false
      const noTrunc = o.trunc === false || bool(o.noTrunc);
      if (bool(o.quiet)) {
        for (const id of new Set(images.map((i) => (noTrunc ? i.id : i.id.slice(7, 19))))) ctx.out(id);
        return 0;
      }
      const r = rows(images, noTrunc);
      const columns: Column[] = [
        { header: "REPOSITORY", field: "Repository" },
        { header: "TAG", field: "Tag" },
        ...(bool(o.digests) ? [{ header: "DIGEST", field: "Digest" }] : []),
        { header: "IMAGE ID", field: "ID" },
        { header: "CREATED", field: "CreatedSince" },
        { header: "SIZE", field: "Size" },
      ];
      // One renderer for the default table and `--format table …`, so both align alike (podman's tabwriter).
      const format = str(o.format);
      let lines = formatRows(format, r, columns, { ID: "IMAGE ID", CreatedSince: "CREATED", CreatedAt: "CREATED AT" });
      const isTable = !format || /^table(?=$|[\s{\\])/.test(format);
      if (isTable && bool(o.noheading)) lines = lines.slice(1);
      for (const line of lines) ctx.out(line);
      return 0;
    });
}

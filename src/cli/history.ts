/** `ctr history IMAGE`: how the image was built, newest step first. */
import type { CAC } from "cac";
import { imageHistory } from "../image/history.ts";
import { openImageContext } from "../image/image-context.ts";
import { requireLocalImage } from "../image/lookup.ts";
import type { CommandContext } from "./command.ts";
import { formatRows, type Column } from "./format/output.ts";
import { bool, str } from "./options.ts";
import { humanSize, since } from "./table.ts";

const CREATED_BY_WIDTH = 45;

export function registerHistory(cli: CAC, ctx: CommandContext): void {
  cli
    .command("history <image>", "Show the history of an image")
    .option("--no-trunc", "Do not truncate the output")
    .option("-H, --human", "Display sizes and dates in human readable format", { default: true })
    .option("-q, --quiet", "Display the numeric IDs only")
    .option("--format <template>", "Pretty-print history using a Go template")
    .action((image: string, o: Record<string, unknown>) => {
      const images = openImageContext();
      const steps = imageHistory(images, requireLocalImage(images, String(image)).image);
      const noTrunc = o.trunc === false || bool(o.noTrunc);
      const rows = steps.map((s) => {
        let createdBy = s.createdBy;
        if (!noTrunc && createdBy.length > CREATED_BY_WIDTH) createdBy = `${createdBy.slice(0, CREATED_BY_WIDTH - 3)}...`;
        return {
          ID: s.id ? (noTrunc ? s.id : s.id.slice(7, 19)) : "<missing>",
          Created: s.created ? since(s.created) : "",
          CreatedSince: s.created ? since(s.created) : "",
          CreatedAt: s.created ?? "",
          CreatedBy: createdBy,
          Size: humanSize(s.size),
          Comment: s.comment,
        };
      });
      if (bool(o.quiet)) {
        for (const r of rows) ctx.out(r.ID);
        return 0;
      }
      const columns: Column[] = [
        { header: "ID", field: "ID" },
        { header: "CREATED", field: "Created" },
        { header: "CREATED BY", field: "CreatedBy" },
        { header: "SIZE", field: "Size" },
        { header: "COMMENT", field: "Comment" },
      ];
      // The default table and `--format table …` share one renderer (podman's tabwriter alignment).
      const lines = formatRows(str(o.format), rows, columns, { CreatedBy: "CREATED BY", CreatedSince: "CREATED", CreatedAt: "CREATED AT" });
      for (const line of lines) ctx.out(line);
      return 0;
    });
}

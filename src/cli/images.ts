/** `ctr images` / `ctr image ls`: the local images, as docker lists them. */
import type { CAC } from "cac";
import { openImageContext } from "../image/image-context.ts";
import type { ImageRecord } from "../image/store/image-store.ts";
import type { CommandContext } from "./command.ts";
import { bool } from "./options.ts";
import { humanSize, since, table } from "./table.ts";

interface Row {
  repository: string;
  tag: string;
  id: string;
  created: string;
  size: string;
}

function rows(images: ImageRecord[]): Row[] {
  return images.flatMap((img) => {
    const base = { id: img.id.slice(7, 19), created: img.created ? since(img.created) : "", size: humanSize(img.size) };
    if (img.names.length === 0) return [{ repository: "<none>", tag: "<none>", ...base }];
    return img.names.map((n) => {
      const colon = n.lastIndexOf(":");
      return { repository: n.slice(0, colon), tag: n.slice(colon + 1), ...base };
    });
  });
}

export function registerImages(cli: CAC, ctx: CommandContext): void {
  cli
    .command("images", "List images in local storage")
    .option("-q, --quiet", "Show only image IDs")
    .action((o: Record<string, unknown>) => {
      const images = openImageContext().images.list();
      if (bool(o.quiet)) {
        for (const id of new Set(images.map((i) => i.id.slice(7, 19)))) ctx.out(id);
        return 0;
      }
      const r = rows(images);
      for (const line of table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], r.map((x) => [x.repository, x.tag, x.id, x.created, x.size]))) ctx.out(line);
      return 0;
    });
}

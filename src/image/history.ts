/**
 * `history`: an image's config history, newest first, each step with the
 * size of the layer it made (steps marked `empty_layer` made none).
 */
import type { ImageConfig } from "../oci/image.ts";
import type { ImageContext } from "./image-context.ts";
import type { ImageRecord } from "./store/image-store.ts";

export interface HistoryStep {
  /** The image ID for the top step, else undefined (docker shows `<missing>`). */
  id?: string;
  created?: string;
  createdBy: string;
  size: number;
  comment: string;
}

export function imageHistory(ctx: ImageContext, img: ImageRecord): HistoryStep[] {
  const config = ctx.content.readJson<ImageConfig>(img.id);
  const diffIds = config.rootfs.diff_ids;
  const history = config.history?.length ? config.history : diffIds.map(() => ({}) as NonNullable<ImageConfig["history"]>[number]);
  let layer = 0;
  const steps = history.map((h): HistoryStep => {
    const diffId = h.empty_layer ? undefined : diffIds[layer++];
    return {
      created: h.created,
      createdBy: h.created_by ?? "",
      size: diffId ? ctx.layers.get(diffId)?.size ?? 0 : 0,
      comment: h.comment ?? "",
    };
  });
  steps.reverse();
  if (steps[0]) steps[0].id = img.id;
  return steps;
}

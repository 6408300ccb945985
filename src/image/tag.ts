/** `tag`: more names for a local image; each name moves off any image that had it. */
import type { ImageContext } from "./image-context.ts";
import { localName, requireLocalImage } from "./lookup.ts";

export async function tagImage(ctx: ImageContext, source: string, targets: string[]): Promise<void> {
  const { image } = requireLocalImage(ctx, source);
  // Parse every target before changing anything: one bad name tags nothing.
  const names = targets.map(localName);
  for (const n of names) await ctx.images.tag(image.id, n);
}

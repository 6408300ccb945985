/**
 * The stores of one ctr data dir, opened together. Commands get one of these
 * instead of building paths themselves.
 */
import { join } from "node:path";
import { ctrPaths } from "../paths.ts";
import { ContentStore } from "./store/content-store.ts";
import { ImageStore } from "./store/image-store.ts";
import { LayerStore } from "./store/layer-store.ts";
import { Leases } from "./store/leases.ts";

export interface ImageContext {
  readonly content: ContentStore;
  readonly layers: LayerStore;
  readonly images: ImageStore;
  readonly leases: Leases;
}

export function openImageContext(dataDir = ctrPaths().data): ImageContext {
  const root = join(dataDir, "storage");
  return { content: new ContentStore(root), layers: new LayerStore(root), images: new ImageStore(root), leases: new Leases(root) };
}

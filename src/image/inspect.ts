/**
 * `image inspect`: one local image in docker's JSON shape, with the fields
 * podman adds (Digest, ManifestType, User, Labels, History, NamesHistory).
 */
import type { HistoryEntry, ImageConfig, ImageRunConfig, Manifest } from "../oci/image.ts";
import { openImageContext, type ImageContext } from "./image-context.ts";
import { requireLocalImage } from "./lookup.ts";
import type { ImageRecord } from "./store/image-store.ts";

export interface ImageInspect {
  Id: string;
  Digest: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  Config: ImageRunConfig;
  Version: string;
  Author: string;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  VirtualSize: number;
  GraphDriver: { Name: string; Data: Record<string, string> };
  RootFS: { Type: string; Layers: string[] };
  Labels: Record<string, string> | null;
  Annotations: Record<string, string>;
  ManifestType: string;
  User: string;
  History: HistoryEntry[];
  NamesHistory: string[];
}

/** The inspect documents of `names` (names, IDs or ID prefixes), in order; throws not-found for the first unknown one. */
export async function inspectImages(names: string[]): Promise<object[]> {
  const ctx = openImageContext();
  return names.map((n) => inspectImage(ctx, requireLocalImage(ctx, n).image));
}

export function inspectImage(ctx: ImageContext, img: ImageRecord): ImageInspect {
  const config = ctx.content.readJson<ImageConfig>(img.id);
  const manifest = ctx.content.has(img.manifestDigest) ? ctx.content.readJson<Manifest>(img.manifestDigest) : undefined;
  const dirs = img.layers.map((d) => ctx.layers.diffDir(d)).reverse();
  const run = config.config ?? {};
  return {
    Id: img.id.slice(7),
    Digest: img.indexDigest ?? img.manifestDigest,
    RepoTags: img.names,
    RepoDigests: img.repoDigests,
    Parent: "",
    Comment: config.history?.at(-1)?.comment ?? "",
    Created: config.created ?? "",
    Config: run,
    Version: "",
    Author: config.author ?? "",
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    Size: img.size,
    VirtualSize: img.size,
    GraphDriver: { Name: "overlay", Data: { LowerDir: dirs.slice(1).join(":"), UpperDir: dirs[0] ?? "" } },
    RootFS: { Type: "layers", Layers: config.rootfs.diff_ids },
    Labels: run.Labels ?? null,
    Annotations: manifest?.annotations ?? {},
    ManifestType: manifest?.mediaType ?? "",
    User: run.User ?? "",
    History: config.history ?? [],
    NamesHistory: img.names,
  };
}

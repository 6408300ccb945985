/**
 * `images`: the local images with the facts the list shows, filtered as
 * `--filter dangling=…`, `reference=…`, `label=…`, `before=…`, `since=…`
 * select them (values of one key: any may match; `label` values: all must).
 */
import { CtrError } from "../errors.ts";
import type { ImageConfig } from "../oci/image.ts";
import type { ImageContext } from "./image-context.ts";
import { findLocalImage } from "./lookup.ts";
import type { ImageRecord } from "./store/image-store.ts";

/** One filter value as `parseFilters` gives it. */
export interface ImageFilterValue {
  value: string;
  negate: boolean;
}

export const IMAGE_FILTERS = ["dangling", "reference", "label", "before", "since"] as const;

export interface ListedImage extends ImageRecord {
  labels: Record<string, string>;
}

export function listImages(ctx: ImageContext, filters: Map<string, ImageFilterValue[]> = new Map()): ListedImage[] {
  const all = ctx.images.list().map((img) => ({ ...img, labels: labelsOf(ctx, img) }));
  const preds: ((img: ListedImage) => boolean)[] = [];
  for (const [key, values] of filters) {
    const one = (v: ImageFilterValue, img: ListedImage) => predicate(ctx, key, v.value, img) !== v.negate;
    if (key === "label") preds.push((img) => values.every((v) => one(v, img)));
    else preds.push((img) => values.some((v) => one(v, img)));
  }
  return all.filter((img) => preds.every((p) => p(img)));
}

function labelsOf(ctx: ImageContext, img: ImageRecord): Record<string, string> {
  try {
    return ctx.content.readJson<ImageConfig>(img.id).config?.Labels ?? {};
  } catch {
    return {};
  }
}

function predicate(ctx: ImageContext, key: string, value: string, img: ListedImage): boolean {
  switch (key) {
    case "dangling": {
      if (value !== "true" && value !== "false") throw new CtrError(`invalid filter "dangling=${value}": expected true or false`, { kind: "invalid" });
      return (img.names.length === 0) === (value === "true");
    }
    case "label": {
      const eq = value.indexOf("=");
      if (eq < 0) return value in img.labels;
      return img.labels[value.slice(0, eq)] === value.slice(eq + 1);
    }
    case "reference":
      return img.names.some((n) => referenceMatches(value, n));
    case "before":
    case "since": {
      const other = findLocalImage(ctx, value);
      if (!other) throw new CtrError(`invalid filter "${key}=${value}": ${value}: image not known`, { kind: "invalid" });
      const a = Date.parse(img.created ?? "");
      const b = Date.parse(other.created ?? "");
      return key === "before" ? a < b : a > b;
    }
    default:
      throw new CtrError(`invalid filter "${key}"`, { kind: "invalid" });
  }
}

/**
 * docker matches `reference=` with path.Match against the familiar name;
 * podman also against the full one. We try the full name, without its
 * registry, and without docker.io's `library/`, each with and without tag.
 */
function referenceMatches(pattern: string, name: string): boolean {
  const colon = name.lastIndexOf(":");
  const repo = name.slice(0, colon);
  const tag = name.slice(colon + 1);
  const slash = repo.indexOf("/");
  const repos = [repo, repo.slice(slash + 1)];
  if (repo.startsWith("docker.io/library/")) repos.push(repo.slice("docker.io/library/".length));
  const glob = new Bun.Glob(pattern);
  return repos.some((r) => glob.match(r) || glob.match(`${r}:${tag}`));
}

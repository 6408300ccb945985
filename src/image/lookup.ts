/**
 * Finding a local image the way podman does: by full name, repo digest, ID
 * or unique ID prefix, then as a short name through registries.conf, then
 * under `localhost/` (where podman puts names typed without a registry).
 */
import { CtrError } from "../errors.ts";
import type { ImageContext } from "./image-context.ts";
import { formatReference, normalize, parseReference, type Reference } from "./reference.ts";
import { loadRegistriesConf, shortNameCandidates } from "./registries-conf.ts";
import type { ImageRecord } from "./store/image-store.ts";

/** The local image `input` names, or undefined. */
export function findLocalImage(ctx: ImageContext, input: string): ImageRecord | undefined {
  return resolveLocalImage(ctx, input)?.image;
}

/**
 * The local image `input` names and, when it was found by one of its names
 * (not by ID or digest), that stored name.
 */
export function resolveLocalImage(ctx: ImageContext, input: string): { image: ImageRecord; name?: string } | undefined {
  const direct = ctx.images.find(input);
  if (direct) return { image: direct, name: direct.names.includes(input) ? input : undefined };
  let ref: Reference;
  try {
    ref = parseReference(input);
  } catch {
    return undefined;
  }
  let names: string[] = [];
  try {
    names = shortNameCandidates(loadRegistriesConf(), ref).map(formatReference);
  } catch {
    // an unresolvable short name may still name a local image
  }
  if (!ref.domain) names.push(formatReference({ ...ref, domain: "localhost", tag: ref.tag ?? (ref.digest ? undefined : "latest") }));
  for (const name of names) {
    const hit = ctx.images.find(name);
    if (hit) return { image: hit, name: hit.names.includes(name) ? name : undefined };
  }
  return undefined;
}

/** Like {@link findLocalImage}, but a missing image is podman's `image not known` (not-found). */
export function requireLocalImage(ctx: ImageContext, input: string): { image: ImageRecord; name?: string } {
  const hit = resolveLocalImage(ctx, input);
  if (!hit) throw new CtrError(`${input}: image not known`, { kind: "not-found" });
  return hit;
}

/**
 * The stored spelling of a name the user gives to `tag`, `load` or `push`:
 * a name without registry goes under `localhost/`, as podman does, and a
 * missing tag is `latest`. Digests are refused: a tag names a tag.
 */
export function localName(input: string): string {
  const ref = parseReference(input);
  if (ref.digest) throw new CtrError(`invalid image name "${input}": a digest cannot be used as a tag`, { kind: "invalid" });
  return formatReference(normalize({ ...ref, domain: ref.domain ?? "localhost" }));
}

/**
 * Push: a local image's blobs and manifest to a registry, per the
 * distribution spec's push flow. Blobs the repository has (HEAD) are
 * skipped; one the registry has in another repository we pulled the image
 * from is mounted across repositories; the rest are uploaded (POST, then
 * one PUT, or PATCH chunks for a big blob: RegistryClient.uploadBlob). The
 * stored manifest bytes go up unchanged, so the image keeps its digest, and
 * go last: a registry must have every blob a manifest names before it
 * accepts it.
 */
import { CtrError, wrapError } from "../errors.ts";
import type { Manifest } from "../oci/image.ts";
import type { ImageContext } from "./image-context.ts";
import type { ProgressReporter } from "./progress.ts";
import { requireLocalImage } from "./lookup.ts";
import { formatReference, normalize, parseReference } from "./reference.ts";
import { loadRegistriesConf, pullSources } from "./registries-conf.ts";
import { RegistryClient } from "./registry/client.ts";

export interface PushOptions {
  log?: (line: string) => void;
  /** Per-blob progress (a terminal); replaces the "Copying blob" lines of `log`. */
  progress?: ProgressReporter;
}

/** Pushes `source` (a local image) to `destination` (default: the name it was found by); returns the manifest digest. */
export async function pushImage(ctx: ImageContext, source: string, destination: string | undefined, opts: PushOptions = {}): Promise<string> {
  const { image, name } = requireLocalImage(ctx, source);
  const target = destination ?? name;
  if (!target) throw new CtrError(`image "${source}" has no name to push to: give a destination`, { kind: "invalid" });
  const parsed = parseReference(target);
  if (!parsed.domain || parsed.domain === "localhost") {
    throw new CtrError(`cannot push "${target}": name a registry, e.g. ${parsed.domain ? "" : "registry.example/"}${target}`, { kind: "invalid" });
  }
  const ref = normalize({ ...parsed, domain: parsed.domain });
  const sources = pullSources(loadRegistriesConf(), ref).filter((s) => !s.mirror);
  const where = sources.at(-1)!;
  const client = new RegistryClient(where, process.env, { push: true });
  const manifestBytes = ctx.content.read(image.manifestDigest);
  const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as Manifest;
  // Repositories on the same registry that we know hold these blobs (we pulled from them).
  const mountFrom = image.repoDigests
    .map((r) => r.split("@")[0]!)
    .filter((r) => r.startsWith(`${where.registry}/`))
    .map((r) => r.slice(where.registry.length + 1))
    .filter((r) => r !== where.repository);
  try {
    const report = (desc: { digest: string; size: number }, note?: string): ((n: number) => void) => {
      if (!opts.progress) {
        opts.log?.(`Copying blob ${desc.digest.slice(7, 19)}${note ? ` ${note}` : ""}`);
        return () => undefined;
      }
      const bar = opts.progress.blob(desc === manifest.config ? "config" : "blob", desc.digest, desc.size);
      if (note) bar.done(note);
      let sent = 0;
      return (n) => {
        bar.add(n);
        sent += n;
        if (sent >= desc.size) bar.done();
      };
    };
    for (const desc of [manifest.config, ...manifest.layers]) {
      if (await client.hasBlob(desc.digest)) {
        report(desc, "skipped: already exists");
        continue;
      }
      let mountedFrom: string | undefined;
      for (const from of mountFrom) {
        if (await client.mountBlob(desc.digest, from)) {
          mountedFrom = from;
          break;
        }
      }
      if (mountedFrom) {
        report(desc, `mounted from ${mountedFrom}`);
        continue;
      }
      const sent = report(desc);
      if (!ctx.content.has(desc.digest)) throw new CtrError(`blob ${desc.digest} of image ${image.id.slice(7, 19)} is missing from the store`, { kind: "internal" });
      await client.uploadBlob(desc.digest, Bun.file(ctx.content.path(desc.digest)), sent);
    }
    if (opts.progress) opts.progress.line("Writing manifest to image destination");
    else opts.log?.("Writing manifest to image destination");
    const mediaType = manifest.mediaType ?? "application/vnd.oci.image.manifest.v1+json";
    const got = await client.putManifest(ref.digest ?? ref.tag ?? "latest", mediaType, manifestBytes);
    if (got && got !== image.manifestDigest) throw new CtrError(`registry stored the manifest as ${got}, expected ${image.manifestDigest}`, { kind: "internal" });
  } catch (err) {
    throw wrapError(`pushing "${formatReference(ref)}"`, err);
  }
  return image.manifestDigest;
}

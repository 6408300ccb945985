/**
 * `save`: local images into one tar archive, as docker or podman write them.
 *
 * - docker-archive (docker save): `manifest.json` listing each image's
 *   config file, names (RepoTags) and layer tars; `<config hex>.json`; each
 *   layer uncompressed as `<diff-id hex>/layer.tar`, once however many
 *   images share it.
 * - oci-archive: an OCI image layout (image-spec `image-layout.md`):
 *   `oci-layout`, `index.json` with one entry per name (annotated with the
 *   full name and tag, as containerd and podman read them) and the stored
 *   manifest, config and layer blobs, byte for byte, under `blobs/sha256/`.
 */
import type { Manifest } from "../../oci/image.ts";
import { MediaType } from "../../oci/image.ts";
import type { ImageContext } from "../image-context.ts";
import { requireLocalImage } from "../lookup.ts";
import type { ImageRecord } from "../store/image-store.ts";
import { decompressLayer } from "../unpack/decompress.ts";
import { TarWriter, type TarSink } from "./tar-writer.ts";

export type ArchiveFormat = "docker-archive" | "oci-archive";
export const ARCHIVE_FORMATS: readonly ArchiveFormat[] = ["docker-archive", "oci-archive"];

interface Chosen {
  image: ImageRecord;
  manifest: Manifest;
  /** Names to record; empty when the image was named by ID. */
  names: string[];
}

const enc = new TextEncoder();

/** Writes `inputs` (names or IDs) as one archive to `sink`; throws not-found before writing anything. */
export async function saveImages(ctx: ImageContext, inputs: string[], format: ArchiveFormat, sink: TarSink): Promise<void> {
  const chosen: Chosen[] = [];
  for (const input of inputs) {
    const { image, name } = requireLocalImage(ctx, input);
    const prior = chosen.find((c) => c.image.id === image.id);
    if (prior) {
      if (name && !prior.names.includes(name)) prior.names.push(name);
      continue;
    }
    chosen.push({ image, manifest: ctx.content.readJson<Manifest>(image.manifestDigest), names: name ? [name] : [] });
  }
  const tar = new TarWriter(sink);
  if (format === "docker-archive") await writeDocker(ctx, tar, chosen);
  else await writeOci(ctx, tar, chosen);
  await tar.finish();
}

async function writeDocker(ctx: ImageContext, tar: TarWriter, chosen: Chosen[]): Promise<void> {
  const entries = chosen.map((c) => ({
    Config: `${c.image.id.slice(7)}.json`,
    RepoTags: c.names,
    Layers: c.image.layers.map((d) => `${d.slice(7)}/layer.tar`),
  }));
  await tar.addFile("manifest.json", enc.encode(JSON.stringify(entries)));
  const written = new Set<string>();
  for (const c of chosen) {
    await tar.addFile(`${c.image.id.slice(7)}.json`, ctx.content.read(c.image.id));
    for (const [i, diffId] of c.image.layers.entries()) {
      if (written.has(diffId)) continue;
      written.add(diffId);
      const desc = c.manifest.layers[i]!;
      const size = ctx.layers.get(diffId)?.size ?? 0;
      const stream = decompressLayer(Bun.file(ctx.content.path(desc.digest)).stream(), desc.mediaType, { name: desc.digest });
      await tar.addDir(diffId.slice(7));
      await tar.addFile(`${diffId.slice(7)}/layer.tar`, stream, size);
    }
  }
}

async function writeOci(ctx: ImageContext, tar: TarWriter, chosen: Chosen[]): Promise<void> {
  await tar.addFile("oci-layout", enc.encode(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
  const manifests = chosen.flatMap((c) => {
    const desc = { mediaType: c.manifest.mediaType ?? MediaType.ociManifest, digest: c.image.manifestDigest, size: ctx.content.size(c.image.manifestDigest) };
    if (c.names.length === 0) return [desc];
    return c.names.map((n) => ({ ...desc, annotations: { "io.containerd.image.name": n, "org.opencontainers.image.ref.name": n.slice(n.lastIndexOf(":") + 1) } }));
  });
  await tar.addFile("index.json", enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests })));
  await tar.addDir("blobs");
  await tar.addDir("blobs/sha256");
  const written = new Set<string>();
  for (const c of chosen) {
    for (const d of [c.image.manifestDigest, c.manifest.config.digest, ...c.manifest.layers.map((l) => l.digest)]) {
      if (written.has(d)) continue;
      written.add(d);
      await tar.addFile(`blobs/sha256/${d.slice(7)}`, Bun.file(ctx.content.path(d)).stream(), ctx.content.size(d));
    }
  }
}

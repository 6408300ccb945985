/**
 * `load`: images from a docker-archive or oci-archive tar (a file or stdin)
 * into the store, with the same checks as a pull: every blob digest-checked,
 * every layer's DiffID checked against its config, names recorded last.
 *
 * The archive is first extracted (regular files only, names that stay inside
 * it) to a scratch directory in the store, because docker writes
 * `manifest.json` last and a stream cannot be read twice; the scratch
 * directory is removed however the load ends.
 */
import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmdirSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { CtrError, wrapError } from "../../errors.ts";
import { INDEX_TYPES, MediaType, type Descriptor, type ImageConfig, type Index, type Manifest } from "../../oci/image.ts";
import type { ImageContext } from "../image-context.ts";
import { hostPlatform, selectManifest } from "../platform.ts";
import { formatReference, normalize, parseReference } from "../reference.ts";
import type { ImageRecord } from "../store/image-store.ts";
import { digestOf } from "../store/content-store.ts";
import { storeLayer } from "../store-layer.ts";
import { detectCompression } from "../unpack/decompress.ts";
import { readTar, type ByteSource } from "../unpack/tar-reader.ts";

interface Extracted {
  dir: string;
  files: Set<string>;
  links: Map<string, string>;
}

/** Loads every image in the archive; returns what podman prints: the names, or `sha256:<id>` for an unnamed image. */
export async function loadArchive(ctx: ImageContext, source: ByteSource): Promise<string[]> {
  const lease = await ctx.leases.acquire();
  const tmpRoot = join(ctx.content.root, "tmp");
  const dir = join(tmpRoot, `load-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  try {
    const ex = await extract(source, dir);
    const records = ex.files.has("manifest.json") ? await loadDocker(ctx, ex) : ex.files.has("index.json") ? await loadOci(ctx, ex) : undefined;
    if (!records) throw new CtrError("archive is neither a docker-archive (no manifest.json) nor an oci-archive (no index.json)", { kind: "invalid" });
    const loaded: string[] = [];
    for (const rec of records) {
      await ctx.images.save(rec);
      loaded.push(...(rec.names.length ? rec.names : [rec.id]));
    }
    return loaded;
  } catch (err) {
    throw wrapError("loading archive", err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    try {
      rmdirSync(tmpRoot);
    } catch {
      // another load is using it
    }
    lease.release();
  }
}

/** A member name as a clean relative path; anything leaving the archive is refused. */
function cleanName(name: string): string {
  const n = posix.normalize(name.replace(/^(\.\/)+/, "")).replace(/\/+$/, "");
  if (n.startsWith("/") || n === ".." || n.startsWith("../") || name.split("/").includes("..")) {
    throw new CtrError(`archive entry "${name}" points outside the archive`, { kind: "invalid" });
  }
  return n;
}

async function extract(source: ByteSource, dir: string): Promise<Extracted> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ex: Extracted = { dir, files: new Set(), links: new Map() };
  for await (const e of readTar(source, { label: "archive" })) {
    if (e.type === "dir" || e.type === "unknown") continue;
    const name = cleanName(e.path);
    if (name === "" || name === ".") continue;
    if (e.type === "symlink" || e.type === "hardlink") {
      // docker's older archives link duplicate layers to the first copy.
      const target = e.type === "symlink" ? posix.normalize(posix.join(posix.dirname(name), e.linkpath)) : cleanName(e.linkpath);
      ex.links.set(name, cleanName(target));
      continue;
    }
    if (e.type !== "file") continue;
    const path = join(dir, "f", name);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fd = openSync(path, "w", 0o600);
    try {
      for await (const chunk of e.data()) for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
    } finally {
      closeSync(fd);
    }
    ex.files.add(name);
  }
  return ex;
}

/** The extracted file a member name means, following links within the archive. */
function member(ex: Extracted, name: string): string {
  let n = cleanName(name);
  for (let hop = 0; hop < 16 && !ex.files.has(n); hop++) {
    const next = ex.links.get(n);
    if (next === undefined) break;
    n = next;
  }
  if (!ex.files.has(n)) throw new CtrError(`archive has no file "${name}"`, { kind: "invalid" });
  return join(ex.dir, "f", n);
}

function readMemberJson<T>(ex: Extracted, name: string): { bytes: Uint8Array; doc: T } {
  const bytes = readFileSync(member(ex, name));
  try {
    return { bytes, doc: JSON.parse(new TextDecoder().decode(bytes)) as T };
  } catch (err) {
    throw new CtrError(`archive file "${name}" is not valid JSON: ${(err as Error).message}`, { kind: "invalid" });
  }
}

async function digestOfFile(path: string): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) h.update(chunk);
  return `sha256:${h.digest("hex")}`;
}

function headOf(path: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const buf = new Uint8Array(8);
    const n = readSync(fd, buf, 0, 8, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

const LAYER_TYPE = { none: MediaType.ociLayer, gzip: MediaType.ociLayerGzip, zstd: MediaType.ociLayerZstd } as const;

async function loadDocker(ctx: ImageContext, ex: Extracted): Promise<ImageRecord[]> {
  const { doc: entries } = readMemberJson<{ Config?: string; RepoTags?: string[] | null; Layers?: string[] }[]>(ex, "manifest.json");
  if (!Array.isArray(entries)) throw new CtrError("manifest.json is not a list of images", { kind: "invalid" });
  const records: ImageRecord[] = [];
  for (const entry of entries) {
    if (typeof entry?.Config !== "string" || !Array.isArray(entry.Layers)) throw new CtrError("manifest.json: an entry lacks Config or Layers", { kind: "invalid" });
    const names = (entry.RepoTags ?? []).map((t) => {
      const ref = parseReference(t);
      return formatReference(normalize({ ...ref, domain: ref.domain ?? "docker.io" }));
    });
    const { bytes: configBytes, doc: config } = readMemberJson<ImageConfig>(ex, entry.Config);
    const configDigest = digestOf(configBytes);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== entry.Layers.length) throw new CtrError(`config ${configDigest} lists ${diffIds.length} layers but manifest.json ${entry.Layers.length}`, { kind: "invalid" });
    const layers: Descriptor[] = [];
    for (const [i, name] of entry.Layers.entries()) {
      const path = member(ex, name);
      const desc: Descriptor = { mediaType: LAYER_TYPE[detectCompression(headOf(path))], digest: await digestOfFile(path), size: statSync(path).size };
      await storeLayer(ctx, desc, diffIds[i]!, async () => Bun.file(path).stream());
      layers.push(desc);
    }
    ctx.content.put(configBytes, configDigest);
    const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length }, layers };
    const manifestDigest = ctx.content.put(new TextEncoder().encode(JSON.stringify(manifest)));
    records.push(record(ctx, configDigest, manifestDigest, config, names));
  }
  return records;
}

async function loadOci(ctx: ImageContext, ex: Extracted): Promise<ImageRecord[]> {
  const { doc: index } = readMemberJson<Index>(ex, "index.json");
  if (!Array.isArray(index?.manifests)) throw new CtrError("index.json has no manifests", { kind: "invalid" });
  const blob = (d: Descriptor) => member(ex, `blobs/${d.digest.replace(":", "/")}`);
  const readBlob = (d: Descriptor): Uint8Array => {
    const bytes = readFileSync(blob(d));
    const got = `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
    if (got !== d.digest || bytes.length !== d.size) throw new CtrError(`blob ${d.digest} in the archive does not match its descriptor: got ${got}, ${bytes.length} bytes`, { kind: "invalid" });
    return bytes;
  };
  const byId = new Map<string, ImageRecord>();
  for (let desc of index.manifests) {
    const annotations = desc.annotations ?? {};
    if (INDEX_TYPES.includes(desc.mediaType)) {
      const nested = JSON.parse(new TextDecoder().decode(readBlob(desc))) as Index;
      const chosen = selectManifest(nested.manifests ?? [], hostPlatform());
      if (!chosen) throw new CtrError(`index ${desc.digest} in the archive has no image for this platform`, { kind: "invalid" });
      desc = chosen;
    }
    const manifestBytes = readBlob(desc);
    const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as Manifest;
    const configBytes = readBlob(manifest.config);
    const config = JSON.parse(new TextDecoder().decode(configBytes)) as ImageConfig;
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (!Array.isArray(manifest.layers) || diffIds.length !== manifest.layers.length) throw new CtrError(`manifest ${desc.digest}: config and manifest disagree on the layers`, { kind: "invalid" });
    for (const [i, layer] of manifest.layers.entries()) {
      await storeLayer(ctx, layer, diffIds[i]!, async () => Bun.file(blob(layer)).stream());
    }
    ctx.content.put(configBytes, manifest.config.digest);
    ctx.content.put(manifestBytes, desc.digest);
    const name = nameOf(annotations);
    const prior = byId.get(manifest.config.digest);
    if (prior) {
      if (name && !prior.names.includes(name)) prior.names.push(name);
    } else {
      byId.set(manifest.config.digest, record(ctx, manifest.config.digest, desc.digest, config, name ? [name] : []));
    }
  }
  return [...byId.values()];
}

/** containerd's full-name annotation, else the OCI ref name if it is a full reference (a bare tag names nothing). */
function nameOf(annotations: Record<string, string>): string | undefined {
  for (const v of [annotations["io.containerd.image.name"], annotations["org.opencontainers.image.ref.name"]]) {
    if (!v) continue;
    try {
      const ref = parseReference(v);
      if (ref.domain || ref.path.includes("/") || v.includes(":")) return formatReference(normalize({ ...ref, domain: ref.domain ?? "localhost" }));
    } catch {
      // a bare tag such as "latest" is not a name
    }
  }
  return undefined;
}

function record(ctx: ImageContext, id: string, manifestDigest: string, config: ImageConfig, names: string[]): ImageRecord {
  const layers = config.rootfs.diff_ids;
  return {
    id,
    manifestDigest,
    names,
    repoDigests: [],
    layers,
    size: layers.reduce((sum, d) => sum + (ctx.layers.get(d)?.size ?? 0), 0),
    created: config.created,
    pulled: new Date().toISOString(),
  };
}

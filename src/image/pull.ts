/**
 * Pull: the one place that wires resolver, fetcher, content store, unpacker
 * and layer store together.
 *
 * Order: resolve the name (short names through registries.conf), fetch the
 * manifest (choosing the platform from an index), the config, then the
 * layers with bounded concurrency. Each layer streams once from the network
 * through the blob writer (size and digest), the decompressor and the tar
 * unpacker (DiffID) into a fresh directory; only when all three checks pass
 * are blob and layer renamed into the store. The image's name is recorded
 * last, so a pull that fails or is killed leaves no visible image.
 */
import { CtrError, wrapError } from "../errors.ts";
import { INDEX_TYPES, MANIFEST_TYPES, type Descriptor, type ImageConfig, type Index, type Manifest, type Platform } from "../oci/image.ts";
import type { ImageContext } from "./image-context.ts";
import type { ProgressReporter } from "./progress.ts";
import { formatPlatform, hostPlatform, selectManifest } from "./platform.ts";
import { formatReference, parseReference, repositoryOf, type Reference } from "./reference.ts";
import { loadRegistriesConf, pullSources, shortNameCandidates, type RegistriesConf } from "./registries-conf.ts";
import { RegistryClient } from "./registry/client.ts";
import type { ImageRecord } from "./store/image-store.ts";
import { storeLayer } from "./store-layer.ts";

const LAYER_CONCURRENCY = 3;

export interface PullOptions {
  platform?: Platform;
  /** Progress lines (to stderr); none when undefined. */
  log?: (line: string) => void;
  /** Per-layer progress (a terminal); replaces the "Copying blob" lines of `log`. */
  progress?: ProgressReporter;
  conf?: RegistriesConf;
}

/** Pulls `input` (as typed by the user) and returns the stored image. */
export async function pullImage(ctx: ImageContext, input: string, opts: PullOptions = {}): Promise<ImageRecord> {
  // Parse before the lease: an invalid name must not touch the store at all.
  const ref = parseReference(input);
  const conf = opts.conf ?? loadRegistriesConf();
  const candidates = shortNameCandidates(conf, ref);
  // Until the image is named, what this pull commits belongs to no image: the lease keeps gc off it.
  const lease = await ctx.leases.acquire();
  try {
    await sweepKilledWriters(ctx);
    return await pullCandidates(ctx, input, candidates, conf, opts);
  } finally {
    lease.release();
  }
}

/**
 * `pull --all-tags`: every tag of the repository `input` names (which must
 * carry no tag or digest), in the registry's order.
 */
export async function pullAllTags(ctx: ImageContext, input: string, opts: PullOptions = {}): Promise<ImageRecord[]> {
  const ref = parseReference(input);
  if (ref.tag || ref.digest) throw new CtrError(`tag can't be used with --all-tags/-a: "${input}"`, { kind: "invalid" });
  const conf = opts.conf ?? loadRegistriesConf();
  const [first] = shortNameCandidates(conf, ref);
  const sources = pullSources(conf, first!);
  let tags: string[] | undefined;
  const failures: string[] = [];
  for (const source of sources) {
    try {
      tags = await new RegistryClient(source).listTags();
      break;
    } catch (err) {
      if (!(err instanceof CtrError) || (err.kind !== "not-found" && err.kind !== "unavailable")) throw wrapError(`listing tags of "${repositoryOf(first!)}"`, err);
      failures.push(err.message);
    }
  }
  if (!tags) throw new CtrError(`listing tags of "${repositoryOf(first!)}": ${failures.join("; ")}`, { kind: "not-found" });
  const out: ImageRecord[] = [];
  for (const tag of tags) out.push(await pullImage(ctx, formatReference({ ...first!, tag, digest: undefined }), { ...opts, conf }));
  return out;
}

async function pullCandidates(ctx: ImageContext, input: string, candidates: (Reference & { domain: string })[], conf: RegistriesConf, opts: PullOptions): Promise<ImageRecord> {
  const failures: string[] = [];
  let absent = false;
  for (const ref of candidates) {
    const name = formatReference(ref);
    opts.log?.(`Trying to pull ${name}...`);
    for (const source of pullSources(conf, ref)) {
      const client = new RegistryClient(source);
      try {
        return await pullFrom(ctx, client, ref, opts);
      } catch (err) {
        // Only "not there" and "cannot reach" move on to the next source, as
        // podman does; a corrupt blob or bad manifest is an answer, not an absence.
        if (!(err instanceof CtrError) || (err.kind !== "not-found" && err.kind !== "unavailable")) {
          throw wrapError(`pulling "${name}"`, err);
        }
        absent ||= err.kind === "not-found";
        failures.push(`${source.mirror ? "(mirror) " : ""}${err.message}`);
      }
    }
  }
  // "Not found" only when some registry said so; unreachable everywhere is another failure.
  if (!absent) throw new CtrError(`pulling "${input}": ${failures.join("; ")}`, { kind: "unavailable" });
  const notFound = `image "${input}" not found`;
  throw new CtrError(`${notFound}: ${failures.join("; ")}`, { kind: "not-found" });
}

async function pullFrom(ctx: ImageContext, client: RegistryClient, ref: Reference & { domain: string }, opts: PullOptions): Promise<ImageRecord> {
  const wanted = opts.platform ?? hostPlatform();
  let fetched = await client.getManifest(ref.digest ?? ref.tag ?? "latest");
  let indexDigest: string | undefined;
  let indexBytes: Uint8Array | undefined;
  let doc = parseJson(fetched.bytes, `manifest ${client.where}`) as Partial<Manifest & Index>;
  const mediaType = fetched.mediaType || doc.mediaType || "";
  if (INDEX_TYPES.includes(mediaType) || (!mediaType && Array.isArray(doc.manifests))) {
    const chosen = selectManifest(doc.manifests ?? [], wanted);
    if (!chosen) {
      const have = (doc.manifests ?? []).map((m) => (m.platform ? formatPlatform(m.platform) : "?")).join(", ");
      throw new CtrError(`no image for platform ${formatPlatform(wanted)} in ${formatReference(ref)} (has ${have || "none"})`, { kind: "invalid" });
    }
    indexBytes = fetched.bytes;
    indexDigest = fetched.digest;
    fetched = await client.getManifest(chosen.digest);
    doc = parseJson(fetched.bytes, `manifest ${client.where}@${chosen.digest}`) as Partial<Manifest>;
  } else if (mediaType && !MANIFEST_TYPES.includes(mediaType)) {
    throw new CtrError(`manifest ${formatReference(ref)} has unsupported media type "${mediaType}"`, { kind: "invalid" });
  }
  const manifest = validateManifest(doc, `manifest ${formatReference(ref)}`);

  const hadConfig = ctx.content.has(manifest.config.digest);
  try {
    return await pullLayers(ctx, client, ref, manifest, fetched, indexDigest && indexBytes ? { digest: indexDigest, bytes: indexBytes } : undefined, opts);
  } catch (err) {
    // A failed pull takes back the config it stored, unless an image already uses it.
    if (!hadConfig && !ctx.images.list().some((i) => i.id === manifest.config.digest)) ctx.content.remove(manifest.config.digest);
    throw err;
  }
}

async function pullLayers(
  ctx: ImageContext,
  client: RegistryClient,
  ref: Reference & { domain: string },
  manifest: Manifest,
  fetched: { bytes: Uint8Array; digest: string },
  index: { bytes: Uint8Array; digest: string } | undefined,
  opts: PullOptions,
): Promise<ImageRecord> {
  const config = await fetchConfig(ctx, client, manifest.config);
  if (config.rootfs?.diff_ids?.length !== manifest.layers.length) {
    throw new CtrError(`image ${formatReference(ref)}: config lists ${config.rootfs?.diff_ids?.length ?? 0} layers but the manifest ${manifest.layers.length}`, { kind: "invalid" });
  }
  await forEachLimited(manifest.layers, LAYER_CONCURRENCY, async (layer, i) => {
    const diffId = config.rootfs.diff_ids[i]!;
    if (ctx.layers.has(diffId)) {
      opts.progress?.blob("blob", layer.digest, layer.size).done("skipped: already exists");
      return;
    }
    const bar = opts.progress?.blob("blob", layer.digest, layer.size);
    if (!bar) opts.log?.(`Copying blob ${layer.digest.slice(7, 19)}`);
    await storeLayer(ctx, layer, diffId, async () => {
      const res = await client.getBlob(layer);
      if (!res.body) throw new CtrError(`layer ${layer.digest}: empty response`, { kind: "unavailable" });
      if (!bar) return res.body;
      return res.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, ctl) {
            bar.add(chunk.length);
            ctl.enqueue(chunk);
          },
        }),
      );
    });
    bar?.done();
  });
  // Manifest (and index) last: their presence in the store means everything they name is there.
  ctx.content.put(fetched.bytes, fetched.digest);
  if (index) ctx.content.put(index.bytes, index.digest);
  const indexDigest = index?.digest;
  const names = ref.digest && !ref.tag ? [] : [formatReference({ ...ref, digest: undefined })];
  const size = config.rootfs.diff_ids.reduce((sum, d) => sum + (ctx.layers.get(d)?.size ?? 0), 0);
  const record: ImageRecord = {
    id: manifest.config.digest,
    manifestDigest: fetched.digest,
    indexDigest,
    names,
    repoDigests: [`${repositoryOf(ref)}@${indexDigest ?? fetched.digest}`],
    nameDigests: Object.fromEntries(names.map((n) => [n, indexDigest ?? fetched.digest])),
    layers: config.rootfs.diff_ids,
    size,
    created: config.created,
    pulled: new Date().toISOString(),
  };
  await ctx.images.save(record);
  return ctx.images.find(record.id) ?? record;
}

/**
 * What pulls or loads that were killed left behind: partial blobs and
 * layers. Best effort: a failure to sweep must not fail this pull.
 */
async function sweepKilledWriters(ctx: ImageContext): Promise<void> {
  try {
    ctx.content.sweepStale();
    await ctx.layers.sweepIncoming();
    // Removes the leases of writers that are gone on the way.
    ctx.leases.anyLive();
  } catch {
    // Left for the next writer or `image prune`.
  }
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new CtrError(`${what} is not valid JSON: ${(err as Error).message}`, { kind: "invalid" });
  }
}

function validDescriptor(d: unknown): d is Descriptor {
  const x = d as Descriptor;
  return !!x && typeof x.mediaType === "string" && typeof x.digest === "string" && /^sha256:[a-f0-9]{64}$/.test(x.digest) && Number.isSafeInteger(x.size) && x.size >= 0;
}

function validateManifest(doc: Partial<Manifest>, what: string): Manifest {
  if (doc.schemaVersion !== 2) throw new CtrError(`${what}: unsupported schemaVersion ${String(doc.schemaVersion)}`, { kind: "invalid" });
  if (!validDescriptor(doc.config)) throw new CtrError(`${what}: missing or invalid config descriptor`, { kind: "invalid" });
  if (!Array.isArray(doc.layers) || !doc.layers.every(validDescriptor)) throw new CtrError(`${what}: missing or invalid layers`, { kind: "invalid" });
  return doc as Manifest;
}

async function fetchConfig(ctx: ImageContext, client: RegistryClient, desc: Descriptor): Promise<ImageConfig> {
  if (!ctx.content.has(desc.digest)) {
    const res = await client.getBlob(desc);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length !== desc.size) throw new CtrError(`config ${desc.digest}: got ${bytes.length} bytes, descriptor says ${desc.size}`, { kind: "invalid" });
    ctx.content.put(bytes, desc.digest);
  }
  const config = ctx.content.readJson<ImageConfig>(desc.digest);
  if (!config || typeof config !== "object" || !config.rootfs || !Array.isArray(config.rootfs.diff_ids)) {
    throw new CtrError(`config ${desc.digest}: missing rootfs.diff_ids`, { kind: "invalid" });
  }
  return config;
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < items.length && failed === undefined) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}

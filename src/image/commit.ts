/**
 * A new image from a layer tar on top of an image (or of nothing): `commit`
 * (a container's upper dir), `import` (a tar of a whole filesystem), and
 * later `build` (one step at a time). The tar is gzipped into the content
 * store and unpacked into the layer store by the same `storeLayer` a pull
 * uses, then config, manifest and the image record are written, the name
 * last, under a lease so `image prune` cannot take the pieces meanwhile.
 */
import { mkdirSync, rmdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { CtrError, wrapError } from "../errors.ts";
import { MediaType, type Descriptor, type HistoryEntry, type ImageConfig, type ImageRunConfig, type Manifest } from "../oci/image.ts";
import { TarWriter } from "./archive/tar-writer.ts";
import type { ImageContext } from "./image-context.ts";
import { localName } from "./lookup.ts";
import { hostPlatform } from "./platform.ts";
import type { ImageRecord } from "./store/image-store.ts";
import { storeLayer } from "./store-layer.ts";
import { decompressLayer } from "./unpack/decompress.ts";
import { readTar, type ByteSource } from "./unpack/tar-reader.ts";

export interface CommitOptions {
  /** The image the layer goes on top of; none for `import`. */
  base?: ImageRecord;
  /** Writes the layer's entries; the tar's end is written after it returns. */
  produce: (tw: TarWriter) => Promise<void>;
  /** Dockerfile instructions (`CMD ["sh"]`, `ENV A=b`, also `CMD=…`), docker's `--change`. */
  changes?: string[];
  /** `-m`: the history entry's comment. */
  message?: string;
  author?: string;
  /** The history entry's created_by. */
  createdBy?: string;
  /** Name for the image (`localhost/` added to a name without registry); none leaves it dangling. */
  name?: string;
}

/** Stores the layer and a new image; returns the image's record. */
export async function commitImage(ctx: ImageContext, opts: CommitOptions): Promise<ImageRecord> {
  const lease = await ctx.leases.acquire();
  try {
    const name = opts.name ? localName(opts.name) : undefined;
    const baseConfig: ImageConfig = opts.base ? ctx.content.readJson<ImageConfig>(opts.base.id) : { ...hostPlatform(), rootfs: { type: "layers", diff_ids: [] } };
    const baseLayers: Descriptor[] = opts.base ? (ctx.content.readJson<Manifest>(opts.base.manifestDigest).layers ?? []).map(ociLayer) : [];
    const runConfig = applyChanges(structuredClone(baseConfig.config ?? {}), opts.changes ?? []);
    const { desc, diffId } = await writeLayer(ctx, opts.produce);
    const created = new Date().toISOString();
    const history: HistoryEntry = { created, ...(opts.createdBy ? { created_by: opts.createdBy } : {}), ...(opts.author ? { author: opts.author } : {}), ...(opts.message ? { comment: opts.message } : {}) };
    const config: ImageConfig = {
      ...baseConfig,
      created,
      ...(opts.author ? { author: opts.author } : {}),
      config: runConfig,
      rootfs: { type: "layers", diff_ids: [...baseConfig.rootfs.diff_ids, diffId] },
      history: [...(baseConfig.history ?? []), history],
    };
    if (!opts.author) delete config.author;
    const configBytes = new TextEncoder().encode(JSON.stringify(config));
    const configDigest = ctx.content.put(configBytes);
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
      layers: [...baseLayers, desc],
    };
    const manifestDigest = ctx.content.put(new TextEncoder().encode(JSON.stringify(manifest)));
    const layers = config.rootfs.diff_ids;
    const record: ImageRecord = {
      id: configDigest,
      manifestDigest,
      names: name ? [name] : [],
      repoDigests: [],
      layers,
      size: layers.reduce((sum, d) => sum + (ctx.layers.get(d)?.size ?? 0), 0),
      created,
      pulled: created,
    };
    await ctx.images.save(record);
    return record;
  } catch (err) {
    throw wrapError("committing image", err);
  } finally {
    lease.release();
  }
}

export interface ImportOptions {
  changes?: string[];
  message?: string;
  name?: string;
}

/**
 * `import`: a tar of a whole filesystem (plain, gzip or zstd) as a
 * one-layer image. Entries are copied as they are, names made relative.
 */
export async function importTar(ctx: ImageContext, source: ByteSource, opts: ImportOptions): Promise<ImageRecord> {
  const stream = source instanceof ReadableStream ? source : toStream(source);
  const tar = decompressLayer(stream, MediaType.ociLayerGzip, { name: "import" });
  return commitImage(ctx, {
    changes: opts.changes,
    message: opts.message,
    name: opts.name,
    createdBy: "/bin/sh -c #(nop) ADD file in /",
    produce: async (tw) => {
      for await (const e of readTar(tar, { label: "import" })) {
        if (e.type === "unknown") continue;
        const name = e.path.split("/").filter((p) => p !== "" && p !== ".").join("/");
        if (name === "" || name.split("/").includes("..")) continue;
        const linkname = e.type === "hardlink" ? e.linkpath.split("/").filter((p) => p !== "" && p !== ".").join("/") : e.linkpath;
        const head = { name, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime.sec, linkname, devmajor: e.devmajor, devminor: e.devminor, xattrs: e.xattrs };
        if (e.type === "file") await tw.addEntry({ ...head, size: e.size }, e.data());
        else await tw.addEntry(head);
      }
    },
  });
}

function toStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      const r = await it.next();
      if (r.done) ctl.close();
      else ctl.enqueue(r.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
}

/** A docker-typed layer descriptor under the OCI type an OCI manifest expects. */
function ociLayer(d: Descriptor): Descriptor {
  if (d.mediaType === MediaType.dockerLayerGzip) return { ...d, mediaType: MediaType.ociLayerGzip };
  return d;
}

/**
 * Gzips the tar `produce` writes into a scratch file, hashing both the
 * plain bytes (DiffID) and the gzipped ones (blob digest) on the way, then
 * stores it as pull stores a layer.
 */
async function writeLayer(ctx: ImageContext, produce: (tw: TarWriter) => Promise<void>): Promise<{ desc: Descriptor; diffId: string }> {
  const tmpRoot = join(ctx.content.root, "tmp");
  mkdirSync(tmpRoot, { recursive: true });
  const path = join(tmpRoot, `layer-${process.pid}-${Math.random().toString(36).slice(2, 10)}.tar.gz`);
  try {
    const gzip = new CompressionStream("gzip");
    const input = gzip.writable.getWriter();
    const plain = new Bun.CryptoHasher("sha256");
    const packed = new Bun.CryptoHasher("sha256");
    const out = Bun.file(path).writer();
    const drained = (async () => {
      for await (const chunk of gzip.readable) {
        packed.update(chunk);
        out.write(chunk);
      }
      await out.end();
    })();
    // The sink copies: the writer may reuse its buffers once a write resolves.
    const tw = new TarWriter(async (chunk) => {
      plain.update(chunk);
      await input.write(chunk.slice());
    });
    try {
      await produce(tw);
      await tw.finish();
      await input.close();
    } catch (err) {
      await input.abort(err).catch(() => {});
      await drained.catch(() => {});
      throw err;
    }
    await drained;
    const desc: Descriptor = { mediaType: MediaType.ociLayerGzip, digest: `sha256:${packed.digest("hex")}`, size: statSync(path).size };
    const diffId = `sha256:${plain.digest("hex")}`;
    await storeLayer(ctx, desc, diffId, async () => Bun.file(path).stream());
    return { desc, diffId };
  } finally {
    rmSync(path, { force: true });
    try {
      rmdirSync(tmpRoot);
    } catch {
      // another writer is using it
    }
  }
}

const CHANGE_INSTRUCTIONS = new Set(["CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"]);

/**
 * Applies docker's `--change` instructions to a run config. Each is a
 * Dockerfile line (`CMD ["sh"]`, `ENV A=b`) or podman's `CMD=…` spelling.
 * CMD and ENTRYPOINT take JSON arrays (exec form) or text (shell form, run
 * by `/bin/sh -c`).
 *
 * @throws CtrError (invalid) naming the change for an unknown instruction or a malformed value
 */
export function applyChanges(config: ImageRunConfig, changes: string[]): ImageRunConfig {
  for (const change of changes) {
    const m = /^\s*([A-Za-z]+)(?:\s+|=)([\s\S]*)$/.exec(change);
    const instr = m?.[1]?.toUpperCase();
    if (!m || !instr || !CHANGE_INSTRUCTIONS.has(instr)) throw new CtrError(`invalid change "${change}": expected one of ${[...CHANGE_INSTRUCTIONS].join(", ")}`, { kind: "invalid" });
    const value = m[2]!.trim();
    switch (instr) {
      case "CMD":
        config.Cmd = commandForm(change, value);
        break;
      case "ENTRYPOINT":
        config.Entrypoint = commandForm(change, value);
        break;
      case "ENV":
        for (const [k, v] of keyValues(change, value)) config.Env = [...(config.Env ?? []).filter((e) => e.split("=")[0] !== k), `${k}=${v}`];
        break;
      case "LABEL":
        for (const [k, v] of keyValues(change, value)) config.Labels = { ...(config.Labels ?? {}), [k]: v };
        break;
      case "EXPOSE":
        for (const p of value.split(/\s+/).filter(Boolean)) config.ExposedPorts = { ...(config.ExposedPorts ?? {}), [p.includes("/") ? p : `${p}/tcp`]: {} };
        break;
      case "VOLUME":
        for (const v of value.startsWith("[") ? jsonArray(change, value) : value.split(/\s+/).filter(Boolean)) config.Volumes = { ...(config.Volumes ?? {}), [v]: {} };
        break;
      case "USER":
        config.User = value;
        break;
      case "WORKDIR":
        config.WorkingDir = value.startsWith("/") ? value : `${config.WorkingDir ?? "/"}/${value}`.replace(/\/+/g, "/");
        break;
      case "STOPSIGNAL":
        config.StopSignal = value;
        break;
      case "ONBUILD":
        // Recorded by docker for later builds; ctr's images carry no ONBUILD field yet.
        break;
    }
  }
  return config;
}

function jsonArray(change: string, value: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new CtrError(`invalid change "${change}": not a JSON array of strings`, { kind: "invalid" });
  }
  if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === "string")) throw new CtrError(`invalid change "${change}": not a JSON array of strings`, { kind: "invalid" });
  return parsed;
}

function commandForm(change: string, value: string): string[] {
  if (value.startsWith("[")) {
    try {
      return jsonArray(change, value);
    } catch {
      // Docker runs a line that only looks like JSON in the shell.
    }
  }
  return value === "" ? [] : ["/bin/sh", "-c", value];
}

/** `A=b C="d e"` or the old `A b` form. */
function keyValues(change: string, value: string): [string, string][] {
  if (!value.includes("=")) {
    const sp = value.search(/\s/);
    if (sp < 0) throw new CtrError(`invalid change "${change}": expected KEY=value`, { kind: "invalid" });
    return [[value.slice(0, sp), value.slice(sp).trim()]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    let v = m[2]!;
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, "$1");
    else if (v.startsWith("'")) v = v.slice(1, -1);
    out.push([m[1]!, v]);
  }
  return out;
}

/**
 * `system check` as pure functions: from what was read off the disk
 * ({@link CheckInput}), the problems, one line each, and what `--repair`
 * removes. A damaged blob or layer goes, and with it every image that
 * needs it; a container that lost its layers, directories or volumes goes
 * only with `--force` (as podman asks); nothing sound is touched.
 */
import type { ImageConfig, Index, Manifest } from "../oci/image.ts";

export interface CheckInput {
  /** Every blob; `ok` false when its content does not hash to its name (or cannot be read). */
  blobs: { digest: string; ok: boolean }[];
  /** Every unpacked layer; `complete` false when its record or its `diff/` is missing or wrong. */
  layers: { diffId: string; complete: boolean }[];
  images: {
    id: string;
    names: string[];
    manifestDigest: string;
    indexDigest?: string;
    /** DiffIDs the image record lists. */
    layers: string[];
    /** The parsed manifest; null when it is stored but is not a manifest. */
    manifest?: Partial<Manifest & Index> | null;
    /** The parsed config; null when it is stored but is not a config. */
    config?: Partial<ImageConfig> | null;
  }[];
  containers: {
    id: string;
    name: string;
    /** DiffIDs its rootfs stacks. */
    layers: string[];
    /** Paths of its own it needs that are missing (writable layer, bundle). */
    missing: string[];
    /** Volumes it mounts that the store no longer has. */
    missingVolumes: string[];
  }[];
}

export interface Problem {
  kind: "blob" | "layer" | "image" | "container";
  /** Digest, DiffID, image ID or container ID. */
  id: string;
  /** The one line reported. */
  message: string;
}

const short = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);

export function findProblems(input: CheckInput): Problem[] {
  const problems: Problem[] = [];
  const blobs = new Map(input.blobs.map((b) => [b.digest, b.ok]));
  const layers = new Map(input.layers.map((l) => [l.diffId, l.complete]));
  for (const b of input.blobs) if (!b.ok) problems.push({ kind: "blob", id: b.digest, message: `blob ${b.digest}: content does not match its digest` });
  for (const l of input.layers) if (!l.complete) problems.push({ kind: "layer", id: l.diffId, message: `layer ${l.diffId}: unpacked layer is incomplete or damaged` });
  const blobState = (d: string) => (!blobs.has(d) ? "is missing" : blobs.get(d) ? undefined : "is damaged");
  const layerState = (d: string) => (!layers.has(d) ? "is missing" : layers.get(d) ? undefined : "is damaged");

  for (const img of input.images) {
    const what = `image ${img.names[0] ?? "<none>"} (${short(img.id)})`;
    const issues: string[] = [];
    const blob = (label: string, d: string | undefined) => {
      const s = d ? blobState(d) : undefined;
      if (s) issues.push(`${label} ${d} ${s}`);
      return s === undefined;
    };
    if (img.indexDigest) blob("index", img.indexDigest);
    if (blob("manifest", img.manifestDigest)) {
      if (img.manifest === null || !img.manifest?.config || !Array.isArray(img.manifest.layers)) issues.push(`manifest ${img.manifestDigest} is not an image manifest`);
      else {
        if (img.manifest.config.digest !== img.id) issues.push(`manifest names config ${img.manifest.config.digest}, not the image's ${img.id}`);
        for (const l of img.manifest.layers) blob("layer blob", l.digest);
      }
    }
    if (blob("config", img.id)) {
      const diffIds = img.config?.rootfs?.diff_ids;
      if (img.config === null || !Array.isArray(diffIds)) issues.push(`config ${img.id} is not an image config`);
      else if (diffIds.join() !== img.layers.join()) issues.push(`config's layers do not match the image's record`);
    }
    for (const d of img.layers) {
      const s = layerState(d);
      if (s) issues.push(`layer ${d} ${s}`);
    }
    for (const i of issues) problems.push({ kind: "image", id: img.id, message: `${what}: ${i}` });
  }

  for (const c of input.containers) {
    const what = `container ${c.name} (${short(c.id)})`;
    for (const d of c.layers) {
      const s = layerState(d);
      if (s) problems.push({ kind: "container", id: c.id, message: `${what}: layer ${d} ${s}` });
    }
    for (const p of c.missing) problems.push({ kind: "container", id: c.id, message: `${what}: ${p} is missing` });
    for (const v of c.missingVolumes) problems.push({ kind: "container", id: c.id, message: `${what}: volume ${v} is missing` });
  }
  return problems;
}

export interface RepairPlan {
  blobs: string[];
  layers: string[];
  images: string[];
  /** Damaged containers to remove (only with force). */
  containers: string[];
  /** Problems `--repair` leaves: damaged containers without force. */
  left: Problem[];
}

export function planRepair(problems: Problem[], force: boolean): RepairPlan {
  const ids = (kind: Problem["kind"]) => [...new Set(problems.filter((p) => p.kind === kind).map((p) => p.id))];
  return {
    blobs: ids("blob"),
    layers: ids("layer"),
    images: ids("image"),
    containers: force ? ids("container") : [],
    left: force ? [] : problems.filter((p) => p.kind === "container"),
  };
}

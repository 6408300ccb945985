/**
 * Pushing hand-made images to the local test registry over the distribution
 * API, for tests that need content ctr itself would never produce (hostile
 * layers, odd owners, VOLUME entries).
 */
import { REGISTRY } from "./helpers.ts";

export function sha256(b: Uint8Array): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(b).digest("hex")}`;
}

/** Monolithic upload (POST then PUT) of one blob into `repo`; returns its digest. */
export async function putBlob(repo: string, blob: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = sha256(blob);
  const start = await fetch(`http://${REGISTRY}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  const url = new URL(start.headers.get("location")!, `http://${REGISTRY}`);
  url.searchParams.set("digest", digest);
  const put = await fetch(url, { method: "PUT", body: blob, headers: { "content-type": "application/octet-stream" } });
  if (put.status !== 201) throw new Error(`blob upload: ${put.status}`);
  return digest;
}

/** PUTs an OCI image manifest as `repo:tag`. */
export async function putManifest(repo: string, tag: string, manifest: Uint8Array<ArrayBuffer>): Promise<void> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${tag}`, { method: "PUT", body: manifest, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
  if (res.status !== 201) throw new Error(`manifest put: ${res.status} ${await res.text()}`);
}

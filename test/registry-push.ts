/**
 * Pushing hand-made images to the local test registry over the distribution
 * API, for tests that need content ctr itself would never produce (hostile
 * layers, odd owners, VOLUME entries). The HTTP side is the image seeder's
 * (scripts/seed-images.ts), so there is one push implementation.
 */
import { MT, pushBlob, pushManifest, sha256 } from "../scripts/seed-images.ts";

export { sha256 };

/** Monolithic upload (POST then PUT) of one blob into `repo`, unless it is there; returns its digest. */
export async function putBlob(repo: string, blob: Uint8Array<ArrayBuffer>): Promise<string> {
  await pushBlob(repo, blob);
  return sha256(blob);
}

/** PUTs an OCI image manifest as `repo:tag`. */
export async function putManifest(repo: string, tag: string, manifest: Uint8Array<ArrayBuffer>): Promise<void> {
  await pushManifest(repo, tag, MT.ociManifest, manifest);
}

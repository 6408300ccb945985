/**
 * Unpacking a layer so that its files keep the owners the tar records, as
 * podman does: the unpack runs as root of a user namespace mapped like the
 * containers' (0 to the user, 1.. to the user's subordinate ids), so a file
 * of uid 1000 in the layer belongs to the matching subordinate id on the host
 * and is uid 1000 again inside every container. Only root of such a
 * namespace may chown to those ids, so ctr runs itself again there, through
 * `ctr-shim userns`, with the hidden verb {@link UNPACK_VERB}: the blob
 * streams to its stdin, and it answers with one JSON line on stdout.
 *
 * Without subordinate ids, or when not running as the compiled binary (unit
 * tests), the layer is unpacked in this process with every file owned by
 * the user, who is root in a container; as real root, in this process with
 * owners kept.
 */
import { CtrError, errorText, type ErrorKind } from "../../errors.ts";
import { shimPath } from "../../runtime/shim.ts";
import { userIdMaps } from "../../runtime/subid.ts";
import type { ApplyLayerResult } from "./apply-layer.ts";
import { unpackLayerStream } from "./unpack-layer.ts";

/** The hidden verb: `ctr __unpack-layer MEDIATYPE DIR DIGEST`, blob on stdin. */
export const UNPACK_VERB = "__unpack-layer";

type HelperAnswer = ApplyLayerResult | { error: string; kind: ErrorKind };

/**
 * Unpacks `blob` into `destDir` keeping owners where the user can (see the
 * module comment). Errors are those of `unpackLayerStream`, or of the blob
 * stream itself, which wins: a broken download explains a broken tar.
 */
export async function unpackLayerKeepingOwners(blob: ReadableStream<Uint8Array>, mediaType: string, destDir: string, digest: string, dataDir: string): Promise<ApplyLayerResult> {
  if (process.getuid?.() === 0) return unpackLayerStream(blob, mediaType, destDir, digest, { chown: true });
  const maps = userIdMaps();
  if (maps.warning || !Bun.main.startsWith("/$bunfs/")) return unpackLayerStream(blob, mediaType, destDir, digest);
  const args = [await shimPath(dataDir), "userns"];
  for (const m of maps.uidMappings) args.push("--uid-map", `${m.containerID}:${m.hostID}:${m.size}`);
  for (const m of maps.gidMappings) args.push("--gid-map", `${m.containerID}:${m.hostID}:${m.size}`);
  args.push("--", process.execPath, UNPACK_VERB, mediaType, destDir, digest);
  const proc = Bun.spawn(args, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  let blobError: unknown;
  const feed = async () => {
    const reader = blob.getReader();
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (err) {
          blobError = err;
          return;
        }
        if (chunk.done) break;
        proc.stdin.write(chunk.value);
        await proc.stdin.flush();
      }
    } catch {
      // The helper stopped reading (it failed, and says why on stdout).
      await reader.cancel().catch(() => undefined);
    } finally {
      try {
        await proc.stdin.end();
      } catch {
        // already closed by the helper's exit
      }
    }
  };
  const [, stdout, stderr, code] = await Promise.all([feed(), new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (blobError !== undefined) {
    if (blobError instanceof CtrError) throw blobError;
    throw new CtrError(`layer ${digest}: ${errorText(blobError)}`, { kind: "unavailable", cause: blobError });
  }
  let answer: HelperAnswer | undefined;
  try {
    answer = JSON.parse(stdout.trim().split("\n").pop() ?? "") as HelperAnswer;
  } catch {
    answer = undefined;
  }
  if (answer && "error" in answer) throw new CtrError(answer.error, { kind: answer.kind });
  if (code !== 0 || !answer) {
    const why = stderr.trim().split("\n")[0] || `exit status ${code}`;
    throw new CtrError(`cannot unpack layer ${digest} in a user namespace: ${why}`);
  }
  return answer;
}

/**
 * The hidden verb's body, run as root of the user namespace: unpack stdin
 * into `dir` with owners, then print the result (or the error) as JSON.
 * Returns the exit status.
 */
export async function runUnpackHelper(args: string[], out: (line: string) => void): Promise<number> {
  const [mediaType, dir, digest] = args;
  if (!mediaType || !dir || !digest || args.length !== 3) {
    out(JSON.stringify({ error: `${UNPACK_VERB} takes MEDIATYPE DIR DIGEST, got ${args.length} arguments`, kind: "invalid" }));
    return 125;
  }
  try {
    const result = await unpackLayerStream(Bun.stdin.stream(), mediaType, dir, digest, { chown: true });
    out(JSON.stringify(result));
    return 0;
  } catch (err) {
    const e = err instanceof CtrError ? err : new CtrError(`cannot unpack layer ${digest}: ${errorText(err)}`, { cause: err });
    out(JSON.stringify({ error: e.message, kind: e.kind }));
    return e.exitCode;
  }
}

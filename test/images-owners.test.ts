/**
 * Layer owners survive a rootless pull, as with podman: the layer is
 * unpacked as root of a user namespace mapped like the containers', so a
 * file of uid 1000 in the tar is owned on the host by the user's matching
 * subordinate id and is uid 1000 again inside a container, setuid bit kept.
 * An owner the namespace cannot map (uid above the subordinate range, which
 * scripts/setup-host.sh makes 4194304 ids wide) is a clear error naming the
 * layer, the file and the id, exit 125, store unchanged.
 *
 * The layer tar is written here header by header, over busybox's layer.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lstatSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { ctr, ctrOk, newStore, REGISTRY } from "./helpers.ts";
import { sha256, putBlob, putManifest } from "./registry-push.ts";

const enc = new TextEncoder();
const REPO = `ctrtest/owners-${process.pid}`;
const MANIFEST_TYPES = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json";

interface Entry {
  name: string;
  type: "file" | "dir";
  mode: number;
  uid: number;
  gid: number;
  data?: string;
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, "0")}\0`;
}

function header(name: string, type: string, mode: number, uid: number, gid: number, size: number): Uint8Array {
  const h = new Uint8Array(512);
  const put = (at: number, text: string) => h.set(enc.encode(text), at);
  const small = (id: number) => (id <= 0o7777777 ? id : 0);
  put(0, name);
  put(100, octal(mode, 8));
  put(108, octal(small(uid), 8));
  put(116, octal(small(gid), 8));
  put(124, octal(size, 12));
  put(136, octal(0, 12));
  put(148, "        ");
  put(156, type);
  put(257, "ustar\0");
  put(263, "00");
  put(148, `${h.reduce((a, b) => a + b, 0).toString(8).padStart(6, "0")}\0 `);
  return h;
}

function padded(data: Uint8Array): Uint8Array[] {
  return [data, new Uint8Array((512 - (data.length % 512)) % 512)];
}

/** A PAX record `"<len> key=value\n"`, whose length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len++;
  return `${len}${body}`;
}

function tar(entries: Entry[]): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    // Ids above ustar's 7 octal digits go in a PAX header, as GNU tar writes them.
    if (e.uid > 0o7777777 || e.gid > 0o7777777) {
      const pax = enc.encode(paxRecord("uid", String(e.uid)) + paxRecord("gid", String(e.gid)));
      parts.push(header(`PaxHeaders/${e.name}`, "x", 0o644, 0, 0, pax.length), ...padded(pax));
    }
    const data = enc.encode(e.data ?? "");
    parts.push(header(e.name, e.type === "dir" ? "5" : "0", e.mode, e.uid, e.gid, data.length), ...padded(data));
  }
  parts.push(new Uint8Array(1024));
  return new Uint8Array(Buffer.concat(parts));
}

/** Pushes busybox's layer (mounted from library/busybox) with `entries` as a second layer. */
async function pushOverBusybox(tag: string, entries: Entry[]): Promise<string> {
  const base = (await (await fetch(`http://${REGISTRY}/v2/library/busybox/manifests/latest`, { headers: { Accept: MANIFEST_TYPES } })).json()) as {
    config: { digest: string };
    layers: { mediaType: string; digest: string; size: number }[];
  };
  const baseConfig = (await (await fetch(`http://${REGISTRY}/v2/library/busybox/blobs/${base.config.digest}`)).json()) as Record<string, unknown> & { rootfs: { diff_ids: string[] } };
  for (const l of base.layers) {
    const m = await fetch(`http://${REGISTRY}/v2/${REPO}/blobs/uploads/?mount=${l.digest}&from=library/busybox`, { method: "POST" });
    if (m.status !== 201) throw new Error(`blob mount: ${m.status}`);
  }
  const layer = tar(entries);
  const gz = new Uint8Array(Bun.gzipSync(layer));
  const config = enc.encode(JSON.stringify({ ...baseConfig, history: undefined, rootfs: { type: "layers", diff_ids: [...baseConfig.rootfs.diff_ids, sha256(layer)] } }));
  const manifest = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: await putBlob(REPO, config), size: config.length },
    layers: [
      ...base.layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: l.digest, size: l.size })),
      { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: await putBlob(REPO, gz), size: gz.length },
    ],
  }));
  await putManifest(REPO, tag, manifest);
  return sha256(layer);
}

/** The host id that container id `id` (>= 1) maps to: the user's subordinate range from 1 on. */
function hostIdOf(file: "/etc/subuid" | "/etc/subgid", id: number): number {
  const me = userInfo();
  const own = file === "/etc/subuid" ? me.uid : (process.getgid?.() ?? me.gid);
  let next = 1;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [who, start, count] = line.split(":");
    if (who !== me.username && who !== String(own)) continue;
    if (id < next + Number(count)) return Number(start) + (id - next);
    next += Number(count);
  }
  throw new Error(`container id ${id} is not in ${file}`);
}

const OWNED: Entry[] = [
  { name: "opt/", type: "dir", mode: 0o755, uid: 0, gid: 0 },
  { name: "opt/app/", type: "dir", mode: 0o755, uid: 1000, gid: 1000 },
  { name: "opt/app/suid", type: "file", mode: 0o4755, uid: 1000, gid: 1000, data: "#!/bin/sh\n" },
  { name: "opt/app/secret", type: "file", mode: 0o600, uid: 1000, gid: 1001, data: "s" },
  { name: "opt/root-file", type: "file", mode: 0o644, uid: 0, gid: 0, data: "r" },
  // Closed to the user on the host: only a user namespace can remove it.
  { name: "opt/private/", type: "dir", mode: 0o700, uid: 1000, gid: 1000 },
  { name: "opt/private/file", type: "file", mode: 0o600, uid: 1000, gid: 1000, data: "p" },
];
/** Above any subordinate range the test user has: 2^24 + 1. */
const UNMAPPED = 16_777_217;
const TOO_HIGH: Entry[] = [{ name: "big-uid", type: "file", mode: 0o644, uid: UNMAPPED, gid: UNMAPPED, data: "b" }];

let ownedDiffId = "";

beforeAll(async () => {
  ownedDiffId = await pushOverBusybox("owned", OWNED);
  await pushOverBusybox("too-high", TOO_HIGH);
});

afterAll(async () => {
  for (const tag of ["owned", "too-high"]) {
    const head = await fetch(`http://${REGISTRY}/v2/${REPO}/manifests/${tag}`, { method: "HEAD", headers: { Accept: MANIFEST_TYPES } });
    const digest = head.headers.get("docker-content-digest");
    if (digest) await fetch(`http://${REGISTRY}/v2/${REPO}/manifests/${digest}`, { method: "DELETE" });
  }
});

describe("layer owners in a rootless pull", () => {
  test("a file of uid 1000 belongs to the mapped subordinate id on the host, setuid kept", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", `${REGISTRY}/${REPO}:owned`], { store });
    const diff = join(store.dataDir, "storage", "layers", ownedDiffId.slice(7), "diff");
    const suid = lstatSync(join(diff, "opt/app/suid"));
    expect({ uid: suid.uid, gid: suid.gid, mode: suid.mode & 0o7777 }).toEqual({ uid: hostIdOf("/etc/subuid", 1000), gid: hostIdOf("/etc/subgid", 1000), mode: 0o4755 });
    const dir = lstatSync(join(diff, "opt/private"));
    expect({ uid: dir.uid, mode: dir.mode & 0o7777 }).toEqual({ uid: hostIdOf("/etc/subuid", 1000), mode: 0o700 });
    const secret = lstatSync(join(diff, "opt/app/secret"));
    expect({ uid: secret.uid, gid: secret.gid }).toEqual({ uid: hostIdOf("/etc/subuid", 1000), gid: hostIdOf("/etc/subgid", 1001) });
    // uid 0 in the layer is the user themself.
    expect(lstatSync(join(diff, "opt/root-file")).uid).toBe(userInfo().uid);
  });

  test("inside a container the files have the owners and modes the layer gives them", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", `${REGISTRY}/${REPO}:owned`], { store });
    const r = await ctr(["run", "--rm", `${REGISTRY}/${REPO}:owned`, "stat", "-c", "%u:%g %a %n", "/opt/app/suid", "/opt/app/secret", "/opt/root-file", "/opt/private/file"], { store });
    expect(r).toMatchObject({ code: 0, stdout: "1000:1000 4755 /opt/app/suid\n1000:1001 600 /opt/app/secret\n0:0 644 /opt/root-file\n1000:1000 600 /opt/private/file\n" });
  });

  test("removing the image removes its layers, subordinate-owned files included", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", `${REGISTRY}/${REPO}:owned`], { store });
    await ctrOk(["rmi", `${REGISTRY}/${REPO}:owned`], { store });
    expect(store.snapshot().filter((p) => p.includes(ownedDiffId.slice(7)))).toEqual([]);
  });

  test("an owner above the subordinate range is a clear error, exit 125, store unchanged", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", `${REGISTRY}/library/alpine`], { store });
    const before = store.snapshot();
    const r = await ctr(["pull", `${REGISTRY}/${REPO}:too-high`], { store });
    expect(r.code).toBe(125);
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("Error:"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`layer sha256:`);
    expect(errors[0]).toContain(`entry "big-uid" is owned by ${UNMAPPED}:${UNMAPPED}, which the user namespace does not map: widen the user's ranges in /etc/subuid`);
    expect(store.snapshot()).toEqual(before);
  });
});

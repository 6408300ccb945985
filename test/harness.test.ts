/**
 * Checks the test harness itself, so a broken host setup shows up as one
 * clear failure here rather than as every end-to-end test failing: the tests
 * run unprivileged, the host gives that user what rootless containers need,
 * and the local registry serves the seed images with blobs that verify.
 */
import { describe, expect, test } from "bun:test";
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { CTR_BIN, REGISTRY, newStore, treeSnapshot } from "./helpers";

const BASE = `http://${REGISTRY}`;
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

function sha256(data: Uint8Array): string {
  return "sha256:" + new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

async function blob(repo: string, digest: string): Promise<Uint8Array<ArrayBuffer>> {
  const res = await fetch(`${BASE}/v2/${repo}/blobs/${digest}`);
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

async function manifest(repo: string, ref: string, accept: string): Promise<{ bytes: Uint8Array; doc: any }> {
  const res = await fetch(`${BASE}/v2/${repo}/manifests/${ref}`, { headers: { accept } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe(accept);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { bytes, doc: JSON.parse(new TextDecoder().decode(bytes)) };
}

function subidRange(file: string, user: string): number | undefined {
  if (!existsSync(file)) return undefined;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [name, , count] = line.split(":");
    if (name === user && Number(count) >= 65536) return Number(count);
  }
  return undefined;
}

describe("test host", () => {
  test("tests run as an unprivileged user with 65536 subordinate uids and gids", () => {
    expect(process.getuid!()).not.toBe(0);
    const user = userInfo().username;
    expect(subidRange("/etc/subuid", user)).toBeGreaterThanOrEqual(65536);
    expect(subidRange("/etc/subgid", user)).toBeGreaterThanOrEqual(65536);
  });

  test("XDG_RUNTIME_DIR is a 0700 directory owned by the test user", () => {
    const dir = process.env.XDG_RUNTIME_DIR;
    expect(dir).toBeTruthy();
    const st = statSync(dir!);
    expect(st.isDirectory()).toBe(true);
    expect(st.uid).toBe(process.getuid!());
    expect(st.mode & 0o777).toBe(0o700);
  });

  test("/dev/fuse and /dev/net/tun are open to unprivileged users", () => {
    for (const dev of ["/dev/fuse", "/dev/net/tun"]) {
      expect(() => accessSync(dev, constants.R_OK | constants.W_OK)).not.toThrow();
    }
  });

  test("registries.conf mirrors docker.io to the local registry", () => {
    const configHome = process.env.XDG_CONFIG_HOME || join(process.env.HOME ?? "", ".config");
    const conf = readFileSync(join(configHome, "containers", "registries.conf"), "utf8");
    expect(conf).toContain('unqualified-search-registries = ["docker.io"]');
    expect(conf).toContain(`location = "${REGISTRY}"`);
  });

  test.skipIf(!existsSync(CTR_BIN))("CTR_BIN is an executable file", () => {
    expect(() => accessSync(CTR_BIN, constants.X_OK)).not.toThrow();
  });
});

describe("local registry", () => {
  test("GET /v2/ answers 200 without credentials", async () => {
    const res = await fetch(`${BASE}/v2/`);
    expect(res.status).toBe(200);
  });

  test("catalog lists the seed images", async () => {
    // The catalog is paged and tests push repositories of their own: follow the Link header.
    const repositories: string[] = [];
    for (let url: string | undefined = `${BASE}/v2/_catalog?n=1000`; url; ) {
      const res: Response = await fetch(url);
      expect(res.status).toBe(200);
      repositories.push(...((await res.json()) as { repositories: string[] }).repositories);
      const next: string | undefined = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "")?.[1];
      url = next ? new URL(next, BASE).toString() : undefined;
    }
    expect(repositories).toEqual(expect.arrayContaining(["library/alpine", "library/busybox", "ctrtest/layered"]));
  });

  test("alpine:latest is a schema 2 busybox image whose blobs match their digests", async () => {
    const { doc } = await manifest("library/alpine", "latest", DOCKER_MANIFEST);
    expect(doc.mediaType).toBe(DOCKER_MANIFEST);
    const configBytes = await blob("library/alpine", doc.config.digest);
    expect(sha256(configBytes)).toBe(doc.config.digest);
    const config = JSON.parse(new TextDecoder().decode(configBytes));
    expect(config).toMatchObject({ os: "linux", config: { Cmd: ["sh"] } });
    expect(config.config.Env).toContain("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    expect(doc.layers).toHaveLength(1);
    const layer = await blob("library/alpine", doc.layers[0].digest);
    expect(sha256(layer)).toBe(doc.layers[0].digest);
    expect(layer.length).toBe(doc.layers[0].size);
    expect(sha256(Bun.gunzipSync(layer))).toBe(config.rootfs.diff_ids[0]);
  });

  test("busybox:latest and alpine:latest are the same manifest", async () => {
    const a = await manifest("library/alpine", "latest", DOCKER_MANIFEST);
    const b = await manifest("library/busybox", "latest", DOCKER_MANIFEST);
    expect(sha256(a.bytes)).toBe(sha256(b.bytes));
  });

  test("busybox:oci-index is an OCI index with one linux entry that resolves", async () => {
    const { doc } = await manifest("library/busybox", "oci-index", OCI_INDEX);
    expect(doc.manifests).toHaveLength(1);
    const entry = doc.manifests[0];
    expect(entry.platform.os).toBe("linux");
    const child = await manifest("library/busybox", entry.digest, OCI_MANIFEST);
    expect(sha256(child.bytes)).toBe(entry.digest);
    expect(child.bytes.length).toBe(entry.size);
  });

  test("ctrtest/layered:latest has three layers on top of busybox's", async () => {
    const base = await manifest("library/busybox", "latest", DOCKER_MANIFEST);
    const { doc } = await manifest("ctrtest/layered", "latest", DOCKER_MANIFEST);
    expect(doc.layers).toHaveLength(3);
    expect(doc.layers[0].digest).toBe(base.doc.layers[0].digest);
  });
});

describe("helpers", () => {
  test("treeSnapshot lists relative paths sorted, directories with a slash", async () => {
    await using store = await newStore();
    await mkdir(join(store.root, "x", "b"), { recursive: true });
    await writeFile(join(store.root, "x", "a"), "");
    await writeFile(join(store.root, "x", "b", "c"), "");
    expect(treeSnapshot(join(store.root, "x"))).toEqual(["a", "b/", "b/c"]);
    expect(treeSnapshot(join(store.root, "missing"))).toEqual([]);
    expect(store.snapshot()).toEqual([]);
  });

  test("newStore gives each store its own data and runtime directories", async () => {
    await using a = await newStore();
    await using b = await newStore();
    expect(a.env.XDG_DATA_HOME).not.toBe(b.env.XDG_DATA_HOME);
    expect(a.dataDir).toBe(join(a.dataHome, "ctr"));
    expect(statSync(a.runtimeDir).mode & 0o777).toBe(0o700);
  });

  test.skipIf(process.getuid!() === 0)("cleanup removes files owned by subordinate uids", async () => {
    const store = await newStore();
    const dir = join(store.dataHome, "owned");
    // As a container would leave them: a 0700 directory and a file owned by
    // container uid 1, which is a subordinate uid on the host.
    const p = Bun.spawnSync(
      ["unshare", "--user", "--map-root-user", "--map-auto", "sh", "-c", 'mkdir "$1" && touch "$1/f" && chown -R 1:1 "$1" && chmod 0700 "$1"', "sh", dir],
      { stderr: "pipe" },
    );
    expect(p.stderr.toString()).toBe("");
    expect(p.exitCode).toBe(0);
    expect(statSync(dir).uid).not.toBe(process.getuid!());
    await store.cleanup();
    expect(existsSync(store.root)).toBe(false);
  });
});

/** Image verbs on a local store: images flags, tag, rmi, image inspect, history, image prune. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ctr, ctrOk, newStore, REGISTRY, type TestStore } from "./helpers.ts";

const LAYERED = `${REGISTRY}/ctrtest/layered:latest`;
const ALPINE = "docker.io/library/alpine:latest";

/** The layer tars' DiffIDs and the blobs, straight from the registry (not from ctr). */
async function registryFacts(repo: string, tag: string): Promise<{ config: { rootfs: { diff_ids: string[] }; history: { created_by: string }[] }; configDigest: string; manifestDigest: string; layers: string[] }> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${tag}`, { headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" } });
  const manifest = await res.json();
  const config = await (await fetch(`http://${REGISTRY}/v2/${repo}/blobs/${manifest.config.digest}`)).json();
  return { config, configDigest: manifest.config.digest, manifestDigest: res.headers.get("docker-content-digest")!, layers: manifest.layers.map((l: { digest: string }) => l.digest) };
}

function storeFiles(store: TestStore, sub: string): string[] {
  try {
    return readdirSync(join(store.dataDir, "storage", sub)).filter((n) => /^[a-f0-9]{64}$/.test(n));
  } catch {
    return [];
  }
}

describe("image verbs", () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await newStore();
    await ctrOk(["pull", "-q", "alpine"], { store });
    await ctrOk(["pull", "-q", LAYERED], { store });
  });
  afterAll(() => store.cleanup());

  test("images -q lists each image ID once, 12 hex digits", async () => {
    const r = await ctrOk(["images", "-q"], { store });
    const ids = r.stdout.trim().split("\n");
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}$/);
  });

  test("images --digests shows the manifest digest the registry serves", async () => {
    const facts = await registryFacts("ctrtest/layered", "latest");
    const r = await ctrOk(["images", "--digests"], { store });
    expect(r.stdout.split("\n")[0]).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(r.stdout).toMatch(new RegExp(`^${REGISTRY}/ctrtest/layered\\s+latest\\s+${facts.manifestDigest}\\s+${facts.configDigest.slice(7, 19)}\\s`, "m"));
  });

  test("images --digests gives each name the digest its own repository was pulled by", async () => {
    await using own = await newStore();
    const list = `${REGISTRY}/library/busybox:manifest-list`;
    // One image (one config) reached three ways: a mirror of docker.io, a tag, a manifest list.
    for (const ref of ["alpine", `${REGISTRY}/library/busybox:latest`, list]) await ctrOk(["pull", "-q", ref], { store: own });
    const head = async (repo: string, tag: string) =>
      (await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${tag}`, { method: "HEAD", headers: { Accept: "application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json" } })).headers.get("docker-content-digest");
    await ctrOk(["tag", "alpine", "never/pulled:x"], { store: own });
    const r = await ctrOk(["images", "--digests", "--format", "{{.Repository}}:{{.Tag}} {{.Digest}}"], { store: own });
    expect(r.stdout.split("\n").filter(Boolean).sort()).toEqual(
      [
        `${ALPINE} ${await head("library/alpine", "latest")}`,
        `${REGISTRY}/library/busybox:latest ${await head("library/busybox", "latest")}`,
        `${list} ${await head("library/busybox", "manifest-list")}`,
        "localhost/never/pulled:x <none>",
      ].sort(),
    );
    // The list's digest, not its platform manifest's: what `pull NAME@DIGEST` takes.
    expect(await head("library/busybox", "manifest-list")).not.toBe(await head("library/busybox", "latest"));
  });

  test("tag adds a name under localhost/ and image ls shows both", async () => {
    await ctrOk(["tag", "alpine", "mine:v1"], { store });
    await ctrOk(["image", "tag", ALPINE, `${REGISTRY}/other/name:t2`], { store });
    const r = await ctrOk(["image", "ls"], { store });
    const id = JSON.parse((await ctrOk(["image", "inspect", "alpine"], { store })).stdout)[0].Id as string;
    expect(r.stdout).toMatch(/^localhost\/mine\s+v1\s+[0-9a-f]{12}\s/m);
    expect(r.stdout).toMatch(new RegExp(`^${REGISTRY}/other/name\\s+t2\\s`, "m"));
    expect(r.stdout.match(new RegExp(id.slice(0, 12), "g"))).toHaveLength(3);
  });

  test("tag of an unknown image fails with exit 125 and changes nothing", async () => {
    const before = store.snapshot();
    const r = await ctr(["tag", "no-such-image", "x:y"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("no-such-image: image not known");
    expect(store.snapshot()).toEqual(before);
  });

  test("tag with an invalid target name fails and tags nothing", async () => {
    const r = await ctr(["tag", "alpine", "good:1", "Bad:Name"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('invalid reference "Bad:Name"');
    const ls = await ctrOk(["images"], { store });
    expect(ls.stdout).not.toContain("localhost/good");
  });

  test("image inspect prints docker's JSON shape, matching the registry's config", async () => {
    const facts = await registryFacts("ctrtest/layered", "latest");
    const r = await ctrOk(["image", "inspect", LAYERED], { store });
    const [doc] = JSON.parse(r.stdout);
    expect(doc.Id).toBe(facts.configDigest.slice(7));
    expect(doc.RepoTags).toEqual([LAYERED]);
    expect(doc.RepoDigests).toEqual([`${REGISTRY}/ctrtest/layered@${facts.manifestDigest}`]);
    expect(doc.RootFS).toEqual({ Type: "layers", Layers: facts.config.rootfs.diff_ids });
    expect(doc.Config.WorkingDir).toBe("/opt/data");
    expect(doc.Config.Cmd).toEqual(["ls"]);
    expect(doc.Os).toBe("linux");
    expect(typeof doc.Architecture).toBe("string");
    expect(doc.Created).toBe("1970-01-01T00:00:00Z");
    expect(doc.Size).toBeGreaterThan(2_000_000);
    expect(doc.History.map((h: { created_by: string }) => h.created_by)).toEqual(facts.config.history.map((h) => h.created_by));
  });

  test("image inspect of an unknown image is exit 125 naming it", async () => {
    const r = await ctr(["image", "inspect", "nope:nope"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("nope:nope: image not known");
  });

  test("image inspect -f renders a Go template", async () => {
    const r = await ctrOk(["image", "inspect", "-f", "{{.Config.WorkingDir}} {{.Os}}", LAYERED], { store });
    expect(r.stdout).toBe("/opt/data linux\n");
  });

  test("history lists the config's steps newest first, top one with the image ID", async () => {
    const facts = await registryFacts("ctrtest/layered", "latest");
    const r = await ctrOk(["history", "--no-trunc", LAYERED], { store });
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(lines).toHaveLength(1 + facts.config.history.length);
    expect(lines[1]).toStartWith(facts.configDigest);
    expect(lines[2]).toStartWith("<missing>");
    const wanted = [...facts.config.history].reverse().map((h) => h.created_by);
    wanted.forEach((createdBy, i) => expect(lines[i + 1]).toContain(createdBy));
  });

  test("history truncates CREATED BY to 45 characters without --no-trunc", async () => {
    const r = await ctrOk(["image", "history", LAYERED], { store });
    expect(r.stdout).toContain("ctr seed-images: whiteout /etc/motd, make ...");
    expect(r.stdout).not.toContain("add c.txt");
  });

  test("images --filter reference= and dangling= select images", async () => {
    const r = await ctrOk(["images", "--filter", "reference=*/layered", "--format", "{{.Repository}}:{{.Tag}}"], { store });
    expect(r.stdout).toBe(`${REGISTRY}/ctrtest/layered:latest\n`);
    const d = await ctrOk(["images", "-q", "--filter", "dangling=true"], { store });
    expect(d.stdout).toBe("");
  });

  test("images --filter with an unknown key is exit 125", async () => {
    const r = await ctr(["images", "--filter", "colour=red"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("colour");
  });
});

describe("rmi and image prune", () => {
  test("rmi of one of several names only untags", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", "alpine"], { store });
    await ctrOk(["tag", "alpine", "second:1"], { store });
    const r = await ctrOk(["rmi", "second:1"], { store });
    expect(r.stdout).toBe("Untagged: localhost/second:1\n");
    expect((await ctrOk(["images", "-q"], { store })).stdout.trim().split("\n")).toHaveLength(1);
  });

  test("rmi by ID of an image with several names needs -f", async () => {
    await using store = await newStore();
    const id = (await ctrOk(["pull", "-q", "alpine"], { store })).stdout.trim();
    await ctrOk(["tag", "alpine", "second:1"], { store });
    const before = store.snapshot();
    const r = await ctr(["rmi", id.slice(0, 12)], { store });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("more than one tag");
    expect(store.snapshot()).toEqual(before);
    const f = await ctrOk(["rmi", "-f", id.slice(0, 12)], { store });
    expect(f.stdout).toContain(`Deleted: ${id}`);
  });

  test("rmi removes the image's layers and blobs, keeping those another image shares", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", "alpine"], { store });
    const layersAlone = storeFiles(store, "layers");
    const blobsAlone = storeFiles(store, "blobs/sha256");
    await ctrOk(["pull", "-q", LAYERED], { store });
    expect(storeFiles(store, "layers").length).toBeGreaterThan(layersAlone.length);
    const r = await ctrOk(["rmi", LAYERED], { store });
    expect(r.stdout).toMatch(/^Untagged: .*\nDeleted: [0-9a-f]{64}\n$/);
    // alpine's base layer is shared with layered: it stays, the rest goes.
    expect(storeFiles(store, "layers").sort()).toEqual(layersAlone.sort());
    expect(storeFiles(store, "blobs/sha256").sort()).toEqual(blobsAlone.sort());
    const run = await ctr(["run", "--rm", "alpine", "echo", "still-here"], { store });
    expect(run.stdout).toBe("still-here\n");
  });

  test("rmi refuses an image a container uses (exit 2); -f removes the container too", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", "alpine"], { store });
    await ctrOk(["run", "--name", "user1", "alpine", "true"], { store });
    const before = store.snapshot();
    const r = await ctr(["rmi", "alpine"], { store });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("image is in use by a container");
    expect(store.snapshot()).toEqual(before);
    const f = await ctrOk(["image", "rm", "-f", "alpine"], { store });
    expect(f.stdout).toContain("Deleted:");
    expect((await ctrOk(["ps", "-a", "-q"], { store })).stdout).toBe("");
    expect(storeFiles(store, "layers")).toEqual([]);
    expect(storeFiles(store, "blobs/sha256")).toEqual([]);
  });

  test("rmi of an unknown image is exit 1", async () => {
    await using store = await newStore();
    const r = await ctr(["rmi", "no-such"], { store });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no-such: image not known");
  });

  test("image prune removes dangling images; -a every unused one, with their layers and blobs", async () => {
    await using store = await newStore();
    const alpineId = (await ctrOk(["pull", "-q", "alpine"], { store })).stdout.trim();
    const layeredId = (await ctrOk(["pull", "-q", LAYERED], { store })).stdout.trim();
    // Pulling another image under layered's name leaves layered dangling.
    await ctrOk(["tag", "alpine", LAYERED], { store });
    const d = await ctrOk(["image", "ls", "--format", "{{.ID}} {{.Repository}}", "--filter", "dangling=true"], { store }).catch(() => undefined);
    if (d) expect(d.stdout).toBe(`${layeredId.slice(0, 12)} <none>\n`);
    const p = await ctrOk(["image", "prune"], { store });
    expect(p.stdout).toBe(`${layeredId}\n`);
    await ctrOk(["run", "--name", "keep", "alpine", "true"], { store });
    expect((await ctrOk(["image", "prune", "-a"], { store })).stdout).toBe("");
    await ctrOk(["rm", "keep"], { store });
    expect((await ctrOk(["image", "prune", "-a"], { store })).stdout).toBe(`${alpineId}\n`);
    expect(storeFiles(store, "layers")).toEqual([]);
    expect(storeFiles(store, "blobs/sha256")).toEqual([]);
    expect(existsSync(join(store.dataDir, "storage", "images.json"))).toBe(true);
    expect(JSON.parse(readFileSync(join(store.dataDir, "storage", "images.json"), "utf8")).images).toEqual([]);
  });

  test("pull --all-tags pulls every tag of the repository", async () => {
    await using store = await newStore();
    const r = await ctrOk(["pull", "-q", "--all-tags", `${REGISTRY}/library/busybox`], { store });
    // latest and oci-index share a config: one image with both names
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    const ls = await ctrOk(["images"], { store });
    expect(ls.stdout).toMatch(new RegExp(`^${REGISTRY}/library/busybox\\s+latest\\s`, "m"));
    expect(ls.stdout).toMatch(new RegExp(`^${REGISTRY}/library/busybox\\s+oci-index\\s`, "m"));
  });

  test("pull --all-tags with a tag is refused", async () => {
    await using store = await newStore();
    const r = await ctr(["pull", "--all-tags", `${REGISTRY}/library/busybox:latest`], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("--all-tags");
  });
});

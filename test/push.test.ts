/** push to the local registry, then pull into an empty store and run; login/logout and the auth file. */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ctr, ctrOk, newStore, REGISTRY } from "./helpers.ts";

const LAYERED = `${REGISTRY}/ctrtest/layered:latest`;

/** A repository name no other run uses; its tag is deleted again by the test. */
function scratchRepo(): string {
  return `ctrtest/push-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

async function deleteTag(repo: string, tag: string): Promise<void> {
  const head = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${tag}`, { method: "HEAD", headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" } });
  const digest = head.headers.get("docker-content-digest");
  if (digest) await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${digest}`, { method: "DELETE" });
}

describe("push", () => {
  test("an image pushed under a new name pulls into an empty store with the same digest, and runs", async () => {
    await using src = await newStore();
    await using dst = await newStore();
    await ctrOk(["pull", "-q", LAYERED], { store: src });
    const repo = scratchRepo();
    try {
      const r = await ctrOk(["push", LAYERED, `${REGISTRY}/${repo}:v1`], { store: src });
      expect(r.stderr).toContain("Writing manifest to image destination");
      const srcDigest = JSON.parse((await ctrOk(["image", "inspect", LAYERED], { store: src })).stdout)[0].Digest;
      const head = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/v1`, { method: "HEAD", headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" } });
      expect(head.headers.get("docker-content-digest")).toBe(srcDigest);
      await ctrOk(["pull", "-q", `${REGISTRY}/${repo}:v1`], { store: dst });
      const run = await ctr(["run", "--rm", `${REGISTRY}/${repo}:v1`, "cat", "/opt/data/c.txt"], { store: dst });
      expect(run).toMatchObject({ code: 0, stdout: "c\n" });
    } finally {
      await deleteTag(repo, "v1");
    }
  });

  test("a loaded image (no registry history) is uploaded blob by blob; a second push skips every blob", async () => {
    await using src = await newStore();
    await using dst = await newStore();
    await ctrOk(["pull", "-q", "alpine"], { store: src });
    const archive = join(src.root, "a.tar");
    await ctrOk(["save", "-o", archive, "alpine"], { store: src });
    await ctrOk(["load", "-i", archive], { store: dst });
    const repo = scratchRepo();
    try {
      const first = await ctrOk(["image", "push", "alpine", `${REGISTRY}/${repo}`], { store: dst });
      expect(first.stderr).not.toContain("skipped");
      expect(first.stderr).not.toContain("mounted");
      expect(first.stderr.match(/^Copying blob [0-9a-f]{12}$/gm)).toHaveLength(2);
      const second = await ctrOk(["push", "alpine", `${REGISTRY}/${repo}`], { store: dst });
      expect(second.stderr.match(/skipped: already exists/g)).toHaveLength(2);
      await using fresh = await newStore();
      const run = await ctr(["run", "--rm", `${REGISTRY}/${repo}`, "echo", "pushed"], { store: fresh });
      expect(run).toMatchObject({ code: 0, stdout: "pushed\n" });
    } finally {
      await deleteTag(repo, "latest");
    }
  });

  test("blobs the registry holds in the repository the image came from are mounted, not uploaded", async () => {
    await using src = await newStore();
    await ctrOk(["pull", "-q", LAYERED], { store: src });
    const repo = scratchRepo();
    try {
      const r = await ctrOk(["push", "-q", LAYERED, `${REGISTRY}/${repo}:m`], { store: src });
      expect(r.stderr).toBe("");
      const again = await ctrOk(["push", LAYERED, `${REGISTRY}/${repo}-2:m`], { store: src });
      expect(again.stderr).toContain("mounted from ctrtest/layered");
    } finally {
      await deleteTag(repo, "m");
      await deleteTag(`${repo}-2`, "m");
    }
  });

  test("push of an unknown image, or to a name without registry, is exit 125", async () => {
    await using store = await newStore();
    const r = await ctr(["push", "nope", `${REGISTRY}/x/y`], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("nope: image not known");
    await ctrOk(["pull", "-q", "alpine"], { store });
    const l = await ctr(["push", "alpine", "localhost/only-local"], { store });
    expect(l.code).toBe(125);
    expect(l.stderr).toContain("name a registry");
  });
});

describe("login and logout", () => {
  test("--password-stdin stores base64 credentials in $XDG_RUNTIME_DIR/containers/auth.json and never prints them", async () => {
    await using store = await newStore();
    const r = await ctrOk(["login", "-u", "alice", "--password-stdin", REGISTRY], { store, stdin: "s3cret-pw\n" });
    expect(r.stdout).toBe("Login Succeeded!\n");
    expect(r.stdout + r.stderr).not.toContain("s3cret-pw");
    const file = join(store.runtimeDir, "containers", "auth.json");
    const doc = JSON.parse(readFileSync(file, "utf8"));
    expect(Buffer.from(doc.auths[REGISTRY].auth, "base64").toString()).toBe("alice:s3cret-pw");
    // a pull still works with the stored credentials
    await ctrOk(["pull", "-q", LAYERED], { store });
    const out = await ctrOk(["logout", REGISTRY], { store });
    expect(out.stdout).toBe(`Removed login credentials for ${REGISTRY}\n`);
    expect(JSON.parse(readFileSync(file, "utf8")).auths[REGISTRY]).toBeUndefined();
    const again = await ctr(["logout", REGISTRY], { store });
    expect(again.code).toBe(125);
    expect(again.stderr).toContain(`not logged into ${REGISTRY}`);
  });

  test("login without a password is refused and writes nothing", async () => {
    await using store = await newStore();
    const r = await ctr(["login", "-u", "bob", REGISTRY], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("needs a password");
    expect(existsSync(join(store.runtimeDir, "containers", "auth.json"))).toBe(false);
  });

  test("login to a registry that does not answer is exit 125 and writes nothing", async () => {
    await using store = await newStore();
    const r = await ctr(["login", "-u", "bob", "-p", "pw", "127.0.0.1:9"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('cannot reach registry "127.0.0.1:9"');
    expect(existsSync(join(store.runtimeDir, "containers", "auth.json"))).toBe(false);
  });
});

/**
 * The basic-auth registry instance (scripts/registry.sh, htpasswd): login,
 * pull and push with good credentials; a wrong password or no credentials is
 * a one-line error, exit 125, and the store and auth file stay as they were.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ctr, ctrOk, newStore, REGISTRY, type TestStore } from "./helpers.ts";

const AUTH_REGISTRY = process.env.CTR_TEST_REGISTRY_AUTH || "127.0.0.1:5056";
const USER = process.env.CTR_TEST_REGISTRY_AUTH_USER || "ctrtest";
const PASSWORD = process.env.CTR_TEST_REGISTRY_AUTH_PASSWORD || "ctr-test-password";
const BASIC = `Basic ${btoa(`${USER}:${PASSWORD}`)}`;

function authFile(store: TestStore): string {
  return join(store.runtimeDir, "containers", "auth.json");
}

function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.startsWith("Error:"));
}

async function login(store: TestStore): Promise<void> {
  await ctrOk(["login", "-u", USER, "--password-stdin", AUTH_REGISTRY], { store, stdin: `${PASSWORD}\n` });
}

describe("a registry with basic auth", () => {
  test("the harness's instance refuses anonymous requests and takes its credentials", async () => {
    expect((await fetch(`http://${AUTH_REGISTRY}/v2/`)).status).toBe(401);
    expect((await fetch(`http://${AUTH_REGISTRY}/v2/`, { headers: { Authorization: BASIC } })).status).toBe(200);
  });

  test("login with a wrong password is one error line, exit 125, and writes no auth file", async () => {
    await using store = await newStore();
    const r = await ctr(["login", "-u", USER, "--password-stdin", AUTH_REGISTRY], { store, stdin: "not-the-password\n" });
    expect(r.code).toBe(125);
    expect(errorLines(r.stderr)).toEqual([`Error: registry ${AUTH_REGISTRY}: the credentials for "${AUTH_REGISTRY}" were refused (HTTP 401)`]);
    expect(r.stderr).not.toContain("not-the-password");
    expect(existsSync(authFile(store))).toBe(false);
  });

  test("pull without credentials is refused with a hint to log in, store unchanged", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", `${REGISTRY}/library/alpine`], { store });
    const before = store.snapshot();
    const r = await ctr(["pull", `${AUTH_REGISTRY}/library/busybox`], { store });
    expect(r.code).toBe(125);
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(`authentication required (use ctr login ${AUTH_REGISTRY})`);
    expect(store.snapshot()).toEqual(before);
  });

  test("pull with stored credentials that are wrong is refused, store and auth file unchanged", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", `${REGISTRY}/library/alpine`], { store });
    mkdirSync(join(store.runtimeDir, "containers"), { recursive: true });
    const stale = JSON.stringify({ auths: { [AUTH_REGISTRY]: { auth: btoa(`${USER}:stale-password`) } } });
    writeFileSync(authFile(store), stale);
    const before = store.snapshot();
    const r = await ctr(["pull", `${AUTH_REGISTRY}/library/busybox`], { store });
    expect(r.code).toBe(125);
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(`the credentials for "${AUTH_REGISTRY}" were refused (HTTP 401)`);
    expect(r.stderr).not.toContain("stale-password");
    expect(store.snapshot()).toEqual(before);
    expect(readFileSync(authFile(store), "utf8")).toBe(stale);
  });

  test("login, then pull and push; another store pulls the pushed image after its own login", async () => {
    await using store = await newStore();
    await login(store);
    expect(JSON.parse(readFileSync(authFile(store), "utf8")).auths[AUTH_REGISTRY].auth).toBe(btoa(`${USER}:${PASSWORD}`));
    await ctrOk(["pull", "-q", `${AUTH_REGISTRY}/ctrtest/layered`], { store });
    const repo = `ctrtest/auth-push-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    try {
      await ctrOk(["push", `${AUTH_REGISTRY}/ctrtest/layered`, `${AUTH_REGISTRY}/${repo}:v1`], { store });
      await using other = await newStore();
      const anonymous = await ctr(["pull", `${AUTH_REGISTRY}/${repo}:v1`], { store: other });
      expect(anonymous.code).toBe(125);
      await login(other);
      await ctrOk(["pull", "-q", `${AUTH_REGISTRY}/${repo}:v1`], { store: other });
      const run = await ctr(["run", "--rm", `${AUTH_REGISTRY}/${repo}:v1`, "cat", "/opt/data/c.txt"], { store: other });
      expect(run).toMatchObject({ code: 0, stdout: "c\n" });
      await ctrOk(["logout", AUTH_REGISTRY], { store: other });
      const after = await ctr(["pull", `${AUTH_REGISTRY}/${repo}:v1`], { store: other });
      expect(after.code).toBe(125);
    } finally {
      const head = await fetch(`http://${AUTH_REGISTRY}/v2/${repo}/manifests/v1`, {
        method: "HEAD",
        headers: { Authorization: BASIC, Accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" },
      });
      const digest = head.headers.get("docker-content-digest");
      if (digest) await fetch(`http://${AUTH_REGISTRY}/v2/${repo}/manifests/${digest}`, { method: "DELETE", headers: { Authorization: BASIC } });
    }
  });

  test("push with a wrong password is refused and uploads nothing", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", `${REGISTRY}/ctrtest/layered`], { store });
    mkdirSync(join(store.runtimeDir, "containers"), { recursive: true });
    writeFileSync(authFile(store), JSON.stringify({ auths: { [AUTH_REGISTRY]: { auth: btoa(`${USER}:wrong`) } } }));
    const repo = `ctrtest/auth-refused-${process.pid}`;
    const r = await ctr(["push", `${REGISTRY}/ctrtest/layered`, `${AUTH_REGISTRY}/${repo}:v1`], { store });
    expect(r.code).toBe(125);
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain("were refused (HTTP 401)");
    const tags = await fetch(`http://${AUTH_REGISTRY}/v2/${repo}/tags/list`, { headers: { Authorization: BASIC } });
    expect(tags.status).toBe(404);
  });
});

/**
 * The TLS registry instance (scripts/registry.sh): its certificate comes from
 * a CA the harness made, trusted only through certs.d, as podman reads it.
 * The harness puts the CA in the test user's
 * `~/.config/containers/certs.d/<CTR_TEST_REGISTRY_TLS>/ca.crt` and in
 * `/etc/containers/certs.d/localhost:<port>/ca.crt`: one name per directory.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ctr, ctrOk, newStore, REGISTRY } from "./helpers.ts";

const TLS_REGISTRY = process.env.CTR_TEST_REGISTRY_TLS || "127.0.0.1:5057";
const PORT = TLS_REGISTRY.split(":").pop()!;

describe("a registry over TLS with a private CA", () => {
  test("pulls through the CA in the user's ~/.config/containers/certs.d, and the image runs", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", `${TLS_REGISTRY}/ctrtest/layered`], { store });
    const run = await ctr(["run", "--rm", `${TLS_REGISTRY}/ctrtest/layered`, "cat", "/opt/data/c.txt"], { store });
    expect(run).toMatchObject({ code: 0, stdout: "c\n" });
  });

  test("pulls through the CA in /etc/containers/certs.d", async () => {
    await using store = await newStore();
    const home = join(store.root, "home");
    mkdirSync(home);
    // Another HOME: only the system-wide certs.d can vouch for localhost:<port>.
    await ctrOk(["pull", "-q", `localhost:${PORT}/library/busybox`], { store, env: { HOME: home, XDG_CONFIG_HOME: join(home, ".config") } });
  });

  test("without the CA the pull is an untrusted-certificate error, exit 125, store unchanged; no plain-http fallback", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", `${REGISTRY}/library/alpine`], { store });
    const home = join(store.root, "home");
    mkdirSync(home);
    const before = store.snapshot();
    const r = await ctr(["pull", `${TLS_REGISTRY}/library/busybox`], { store, env: { HOME: home, XDG_CONFIG_HOME: join(home, ".config") } });
    expect(r.code).toBe(125);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("Error:"))).toHaveLength(1);
    expect(r.stderr).toContain(`cannot reach registry "${TLS_REGISTRY}": its TLS certificate is not trusted`);
    expect(r.stderr).toContain(`${home}/.config/containers/certs.d/${TLS_REGISTRY}/ca.crt`);
    expect(store.snapshot()).toEqual(before);
  });
});

const MTLS_REGISTRY = process.env.CTR_TEST_REGISTRY_MTLS || "127.0.0.1:5058";

/**
 * The mtls instance requires a client certificate signed by the harness's
 * CA; the harness puts `client.cert` and `client.key` beside `ca.crt` in the
 * test user's certs.d/<CTR_TEST_REGISTRY_MTLS>/, as podman reads them.
 */
describe("a registry that requires a client certificate", () => {
  test("pulls with certs.d's client.cert and client.key, and the image runs", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", `${MTLS_REGISTRY}/ctrtest/layered`], { store });
    const run = await ctr(["run", "--rm", `${MTLS_REGISTRY}/ctrtest/layered`, "cat", "/opt/data/c.txt"], { store });
    expect(run).toMatchObject({ code: 0, stdout: "c\n" });
  }, 60_000);

  test("without a client certificate the pull says so, exit 125, store unchanged", async () => {
    await using store = await newStore();
    await ctrOk(["pull", "-q", `${REGISTRY}/library/alpine`], { store });
    // Another config home holding the CA only.
    const config = join(store.root, "config");
    const dir = join(config, "containers", "certs.d", MTLS_REGISTRY);
    mkdirSync(dir, { recursive: true });
    const userCa = join(process.env.XDG_CONFIG_HOME || join(process.env.HOME!, ".config"), "containers", "certs.d", MTLS_REGISTRY, "ca.crt");
    await Bun.write(join(dir, "ca.crt"), Bun.file(userCa));
    const before = store.snapshot();
    const r = await ctr(["pull", `${MTLS_REGISTRY}/library/busybox`], { store, env: { XDG_CONFIG_HOME: config } });
    expect(r.code).toBe(125);
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("Error:"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`cannot reach registry "${MTLS_REGISTRY}": the TLS handshake failed`);
    expect(errors[0]).toContain(`put client.cert and client.key in ${dir}/`);
    expect(store.snapshot()).toEqual(before);
  }, 60_000);
});

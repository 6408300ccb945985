/**
 * `login` / `logout`: credentials checked against the registry, then written
 * to the auth file podman writes, `$REGISTRY_AUTH_FILE` or
 * `$XDG_RUNTIME_DIR/containers/auth.json` (containers-auth.json(5)), mode 0600.
 */
import { join } from "node:path";
import { CtrError } from "../../errors.ts";
import { readJson, writeFileAtomic } from "../../fs-util.ts";
import { xdgRuntimeDir } from "../../paths.ts";
import { RegistryClient } from "./client.ts";
import type { Credentials } from "./auth.ts";

interface AuthFile {
  auths?: Record<string, { auth?: string }>;
  [other: string]: unknown;
}

export function writableAuthFile(env = process.env, override?: string): string {
  return override ?? env.REGISTRY_AUTH_FILE ?? join(xdgRuntimeDir(env), "containers", "auth.json");
}

/** `host[:port]` from what users type: `https://host/`, `host/v2/`, `host`. */
export function registryKey(input: string): string {
  return input.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
}

/** Checks `creds` against `registry` (GET /v2/ with its challenge), then stores them. */
export async function login(registry: string, creds: Credentials, authFile: string): Promise<void> {
  const key = registryKey(registry);
  if (!key) throw new CtrError("login requires a registry", { kind: "invalid" });
  const client = new RegistryClient({ registry: key, repository: "", insecure: false, mirror: false }, process.env, { credentials: creds });
  await client.ping();
  const doc = readJson<AuthFile>(authFile) ?? {};
  doc.auths = { ...(doc.auths ?? {}), [key]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString("base64") } };
  writeFileAtomic(authFile, JSON.stringify(doc, null, "\t") + "\n", 0o600);
}

/** Removes the stored credentials for `registry` (or all); throws when there were none. */
export function logout(registry: string | undefined, authFile: string): void {
  const doc = readJson<AuthFile>(authFile) ?? {};
  const auths = doc.auths ?? {};
  if (registry === undefined) {
    doc.auths = {};
  } else {
    const key = registryKey(registry);
    if (!(key in auths)) throw new CtrError(`not logged into ${key}`, { kind: "not-found" });
    delete auths[key];
    doc.auths = auths;
  }
  writeFileAtomic(authFile, JSON.stringify(doc, null, "\t") + "\n", 0o600);
}

/**
 * Registry credentials and the token dance of the distribution spec.
 *
 * Credentials are read from containers-auth.json(5) files in podman's order:
 * `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
 * `$XDG_CONFIG_HOME/containers/auth.json`, then `~/.docker/config.json` as a
 * fallback. They are never printed or put in an error message.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { homeDir, xdgConfigHome, xdgRuntimeDir } from "../../paths.ts";

export interface Credentials {
  username: string;
  password: string;
}

export function authFiles(env = process.env): string[] {
  if (env.REGISTRY_AUTH_FILE) return [env.REGISTRY_AUTH_FILE];
  return [
    join(xdgRuntimeDir(env), "containers", "auth.json"),
    join(xdgConfigHome(env), "containers", "auth.json"),
    join(homeDir(env), ".docker", "config.json"),
  ];
}

/** Credentials for `registry` (host[:port]), or undefined for anonymous access. */
export function findCredentials(registry: string, repository: string, env = process.env): Credentials | undefined {
  for (const file of authFiles(env)) {
    let auths: Record<string, { auth?: string }>;
    try {
      auths = (JSON.parse(readFileSync(file, "utf8")) as { auths?: typeof auths }).auths ?? {};
    } catch {
      continue;
    }
    // containers-auth.json allows keys narrowed to a repository; the most specific wins.
    const keys = [`${registry}/${repository}`, registry, registry === "docker.io" ? "https://index.docker.io/v1/" : ""];
    for (const key of keys) {
      const entry = key ? auths[key] ?? auths[`https://${key}`] : undefined;
      if (entry?.auth) {
        const text = Buffer.from(entry.auth, "base64").toString("utf8");
        const colon = text.indexOf(":");
        if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1) };
      }
    }
  }
  return undefined;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` (RFC 7235). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g;
  for (let p = re.exec(m[2] ?? ""); p; p = re.exec(m[2] ?? "")) {
    params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? "").replace(/\\(.)/g, "$1");
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

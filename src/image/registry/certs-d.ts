/**
 * Per-registry TLS material from certs.d directories, as podman reads them
 * (containers-certs.d(5)): `<dir>/<host[:port]>/*.crt` are extra CAs, and a
 * `<name>.cert` with a matching `<name>.key` is the client certificate.
 *
 * Directories, first one holding the registry wins: the user's
 * `$XDG_CONFIG_HOME/containers/certs.d`, then `/etc/containers/certs.d`,
 * then `/etc/docker/certs.d`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CtrError, errorText } from "../../errors.ts";
import { xdgConfigHome } from "../../paths.ts";

export interface RegistryTls {
  /** The certs.d directory used, for messages. */
  dir: string;
  /** PEM CA certificates to trust besides the system ones. */
  ca: string[];
  /** PEM client certificate and key, when the directory has a pair. */
  cert?: string;
  key?: string;
}

/** The certs.d roots searched, in order. */
export function certsDirs(env = process.env): string[] {
  return [join(xdgConfigHome(env), "containers", "certs.d"), "/etc/containers/certs.d", "/etc/docker/certs.d"];
}

/** The TLS material certs.d holds for `registry` (host[:port]), or undefined when no root has a directory for it. */
export function loadCertsD(registry: string, env = process.env, roots = certsDirs(env)): RegistryTls | undefined {
  for (const root of roots) {
    const dir = join(root, registry);
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue;
    }
    const read = (name: string) => {
      try {
        return readFileSync(join(dir, name), "utf8");
      } catch (err) {
        throw new CtrError(`cannot read ${join(dir, name)}: ${errorText(err)}`, { cause: err });
      }
    };
    const tls: RegistryTls = { dir, ca: names.filter((n) => n.endsWith(".crt")).map(read) };
    const certName = names.find((n) => n.endsWith(".cert"));
    if (certName) {
      const keyName = `${certName.slice(0, -5)}.key`;
      if (!names.includes(keyName)) throw new CtrError(`client certificate ${join(dir, certName)} has no matching key ${keyName}`, { kind: "invalid" });
      tls.cert = read(certName);
      tls.key = read(keyName);
    }
    return tls;
  }
  return undefined;
}

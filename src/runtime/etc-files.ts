/**
 * `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf` as ctr manages them:
 * written to the container's runtime dir at each start and bind-mounted
 * over the image's, as docker and podman do.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface EtcFiles {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

export function etcFilesIn(stateDir: string): EtcFiles {
  const dir = join(stateDir, "etc");
  return { hosts: join(dir, "hosts"), hostname: join(dir, "hostname"), resolvConf: join(dir, "resolv.conf") };
}

/**
 * The host's resolv.conf without loopback name servers, which mean
 * nothing in the container's network namespace; docker's public
 * fallbacks when none are left.
 */
export function containerResolvConf(host: string): string {
  const lines = host.split("\n").filter((l) => !/^\s*nameserver\s+(127\.|::1\s*$|::1$)/.test(l));
  if (!lines.some((l) => /^\s*nameserver\s/.test(l))) lines.push("nameserver 8.8.8.8", "nameserver 8.8.4.4");
  return lines.filter((l, i, a) => l !== "" || i < a.length - 1).join("\n").trim() + "\n";
}

export function writeEtcFiles(files: EtcFiles, hostname: string, name: string): void {
  mkdirSync(join(files.hosts, ".."), { recursive: true, mode: 0o700 });
  writeFileSync(
    files.hosts,
    `127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname} ${name}\n`,
    { mode: 0o644 },
  );
  writeFileSync(files.hostname, `${hostname}\n`, { mode: 0o644 });
  let host = "";
  try {
    host = readFileSync("/etc/resolv.conf", "utf8");
  } catch {
    // no resolver configured on the host
  }
  writeFileSync(files.resolvConf, containerResolvConf(host), { mode: 0o644 });
}

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
export function containerResolvConf(host: string, dns?: { nameservers?: string[]; keepLoopback?: boolean }): string {
  let lines = host.split("\n").filter((l) => dns?.keepLoopback || !/^\s*nameserver\s+(127\.|::1\s*$|::1$)/.test(l));
  // slirp4netns forwards its own DNS address to the host's resolver.
  if (dns?.nameservers) lines = [...dns.nameservers.map((n) => `nameserver ${n}`), ...lines.filter((l) => !/^\s*nameserver\s/.test(l))];
  if (!lines.some((l) => /^\s*nameserver\s/.test(l))) lines.push("nameserver 8.8.8.8", "nameserver 8.8.4.4");
  return lines.filter((l, i, a) => l !== "" || i < a.length - 1).join("\n").trim() + "\n";
}

/**
 * `dns.hosts`: extra `/etc/hosts` lines (`--add-host`, peers on a network);
 * `dns.selfAddress`: the container's address for its own names (else 127.0.1.1).
 */
export function writeEtcFiles(files: EtcFiles, hostname: string, name: string, dns?: { nameservers?: string[]; keepLoopback?: boolean; hosts?: string[]; selfAddress?: string }): void {
  mkdirSync(join(files.hosts, ".."), { recursive: true, mode: 0o700 });
  writeFileSync(
    files.hosts,
    `127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost ip6-localhost ip6-loopback\n${dns?.selfAddress ?? "127.0.1.1"}\t${hostname} ${name}\n${(dns?.hosts ?? []).map((l) => `${l}\n`).join("")}`,
    { mode: 0o644 },
  );
  writeFileSync(files.hostname, `${hostname}\n`, { mode: 0o644 });
  let host = "";
  try {
    host = readFileSync("/etc/resolv.conf", "utf8");
  } catch {
    // no resolver configured on the host
  }
  writeFileSync(files.resolvConf, containerResolvConf(host, dns), { mode: 0o644 });
}

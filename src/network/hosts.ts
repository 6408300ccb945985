/**
 * Name resolution between containers on a user-defined network: the
 * managed `/etc/hosts` of each running container lists its peers (by
 * name, short id, `--network-alias`, and `--link` alias) below a marker
 * line. When a container starts, stops, connects or disconnects, the
 * files of the containers on its networks are rewritten in place
 * (truncate and write: the file is bind-mounted, a rename would not show).
 * The default network gives no names, as docker's default bridge: only
 * `--link` targets there, written once when the container starts.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withLock } from "../fs-util.ts";
import { ctrPaths } from "../paths.ts";
import type { ContainerRecord } from "../runtime/container-store.ts";
import { etcFilesIn } from "../runtime/etc-files.ts";
import { containerStateDir, networksOf, readEndpoints, runningContainers } from "./endpoints.ts";
import { DEFAULT_NETWORK } from "./store.ts";

/** Everything below this line in a managed hosts file is ctr's to rewrite. */
export const PEERS_MARKER = "# ctr network peers";

/** A running container's address on one network, and the names it answers to there. */
export interface Peer {
  network: string;
  id: string;
  name: string;
  ip: string;
  aliases: string[];
}

/** `--link NAME[:ALIAS]` → [name, alias]. */
export function parseLink(link: string): [string, string] {
  const colon = link.indexOf(":");
  return colon < 0 ? [link, link] : [link.slice(0, colon), link.slice(colon + 1)];
}

/**
 * The peer lines of container `self` on `networks` (in its order). A peer
 * on two shared networks gets a line per network; the first one wins.
 * Pure.
 *
 * @example
 * renderPeers({ id: "a…", networks: ["n"], links: ["db:data"] }, [{ network: "n", id: "b…", name: "db", ip: "10.89.1.5", aliases: [] }])
 * // ["10.89.1.5\tdb b… data"] (with the id cut to 12)
 */
export function renderPeers(self: { id: string; networks: string[]; links?: string[] }, peers: Peer[]): string[] {
  const links = (self.links ?? []).map(parseLink);
  const lines: string[] = [];
  for (const network of self.networks) {
    for (const p of peers) {
      if (p.network !== network || p.id === self.id) continue;
      const linked = links.filter(([n]) => n === p.name || p.id.startsWith(n)).map(([, alias]) => alias);
      if (network === DEFAULT_NETWORK && linked.length === 0) continue;
      const names = [...new Set([p.name, p.id.slice(0, 12), ...p.aliases, ...linked])];
      lines.push(`${p.ip}\t${names.join(" ")}`);
    }
  }
  return lines;
}

/** The managed hosts text with its peer section replaced. */
export function replacePeerSection(text: string, lines: string[]): string {
  const at = text.indexOf(`${PEERS_MARKER}\n`);
  const head = at < 0 ? text : text.slice(0, at);
  return `${head}${PEERS_MARKER}\n${lines.map((l) => `${l}\n`).join("")}`;
}

/** The endpoints on user-defined networks of `running` (the containers that run). */
export function runningPeers(running: ContainerRecord[] = runningContainers()): Peer[] {
  const out: Peer[] = [];
  for (const rec of running) {
    const nets = networksOf(rec);
    if (nets.length === 0) continue;
    const eps = readEndpoints(containerStateDir(rec.id));
    for (const n of nets) {
      const ep = eps[n];
      if (ep) out.push({ network: n, id: rec.id, name: rec.name, ip: ep.ip, aliases: rec.network?.networks?.[n]?.aliases ?? [] });
    }
  }
  return out;
}

/** The peer lines a container about to start gets (its own hosts file is not written yet). */
export function peerLinesFor(rec: ContainerRecord): string[] {
  const nets = networksOf(rec);
  // Nothing to look up: alone on the default network, no --link.
  if (!rec.network?.links?.length && nets.every((n) => n === DEFAULT_NETWORK)) return [];
  return nets.length ? renderPeers({ id: rec.id, networks: nets, links: rec.network?.links }, runningPeers()) : [];
}

/**
 * Rewrites the peer section of every running container on any of
 * `networks`. Best effort: a container ending meanwhile is skipped.
 * Serialized: each rewrite reads the state after the previous one wrote,
 * so two containers starting together both end up in each other's file.
 */
export async function refreshHosts(networks: string[]): Promise<void> {
  const named = networks.filter((n) => n !== DEFAULT_NETWORK);
  if (named.length === 0) return;
  await withLock(join(ctrPaths().runtime, "networks", "hosts.lock"), rewriteHosts.bind(null, named));
}

function rewriteHosts(networks: string[]): void {
  const running = runningContainers();
  const peers = runningPeers(running);
  for (const rec of running) {
    const nets = networksOf(rec);
    if (!nets.some((n) => networks.includes(n))) continue;
    const path = etcFilesIn(containerStateDir(rec.id)).hosts;
    try {
      const text = readFileSync(path, "utf8");
      const next = replacePeerSection(text, renderPeers({ id: rec.id, networks: nets, links: rec.network?.links }, peers));
      if (next !== text) writeFileSync(path, next);
    } catch {
      // it has just ended, or has no managed hosts file
    }
  }
}

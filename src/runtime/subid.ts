/**
 * Subordinate id ranges (subuid(5), subgid(5)) and the id maps they give a
 * rootless container: container root is the user, container ids 1…N are the
 * user's subordinate range, as podman maps them.
 */
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import type { IdMapping } from "../oci/runtime.ts";

export interface SubIdRange {
  start: number;
  count: number;
}

/** Parses subuid/subgid text for a user given by name or numeric id. */
export function parseSubIds(text: string, user: string, id: number): SubIdRange[] {
  const out: SubIdRange[] = [];
  for (const line of text.split("\n")) {
    const [owner, start, count] = line.trim().split(":");
    if (!owner || owner.startsWith("#") || (owner !== user && owner !== String(id))) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && c > 0) out.push({ start: s, count: c });
  }
  return out;
}

export function readSubIds(file: "/etc/subuid" | "/etc/subgid", id: number, user = currentUserName()): SubIdRange[] {
  try {
    return parseSubIds(readFileSync(file, "utf8"), user, id);
  } catch {
    return [];
  }
}

export function currentUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? String(process.getuid?.() ?? "");
  }
}

/** Container id 0 → `hostId`, then the ranges in order from container id 1. */
export function idMappings(hostId: number, ranges: SubIdRange[]): IdMapping[] {
  const maps: IdMapping[] = [{ containerID: 0, hostID: hostId, size: 1 }];
  let next = 1;
  for (const r of ranges) {
    maps.push({ containerID: next, hostID: r.start, size: r.count });
    next += r.count;
  }
  return maps;
}

export interface UserIdMaps {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
  /** Set when no subordinate range exists and only the user's own id is mapped. */
  warning?: string;
}

export function userIdMaps(): UserIdMaps {
  const uid = process.getuid!();
  const gid = process.getgid!();
  const name = currentUserName();
  const subuids = readSubIds("/etc/subuid", uid, name);
  const subgids = readSubIds("/etc/subgid", uid, name);
  if (subuids.length === 0 || subgids.length === 0) {
    return {
      uidMappings: idMappings(uid, []),
      gidMappings: idMappings(gid, []),
      warning: `no subuid/subgid range for ${name}: only root is mapped in containers; fix: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${name}`,
    };
  }
  return { uidMappings: idMappings(uid, subuids), gidMappings: idMappings(gid, subgids) };
}

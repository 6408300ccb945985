/**
 * Subordinate id ranges (subuid(5), subgid(5)) and the id maps they give a
 * rootless container: container root is the user, container ids 1…N are the
 * user's subordinate range, as podman maps them.
 */
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { CtrError } from "../errors.ts";
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
  // By uid, as newuidmap itself looks the user up: Bun's userInfo() takes
  // the name from $USER and says "unknown" without it (cron, `env -i`,
  // services), which would leave the user without subordinate ids.
  const uid = process.getuid?.();
  if (uid !== undefined) {
    const name = passwdName(readText("/etc/passwd"), uid);
    if (name) return name;
  }
  try {
    const name = userInfo().username;
    if (name && name !== "unknown") return name;
  } catch {
    // fall through
  }
  return process.env.USER || String(uid ?? "");
}

/** The name of the first passwd(5) entry with this uid. */
export function passwdName(text: string, uid: number): string | undefined {
  for (const line of text.split("\n")) {
    const [name, , id] = line.split(":");
    if (name && !name.startsWith("#") && id === String(uid)) return name;
  }
  return undefined;
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
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

/** The calling user's ids, name and subordinate ranges. */
function ownRanges(): { uid: number; gid: number; name: string; subuids: SubIdRange[]; subgids: SubIdRange[] } {
  const uid = process.getuid!();
  const gid = process.getgid!();
  const name = currentUserName();
  return { uid, gid, name, subuids: readSubIds("/etc/subuid", uid, name), subgids: readSubIds("/etc/subgid", uid, name) };
}

export function userIdMaps(): UserIdMaps {
  const { uid, gid, name, subuids, subgids } = ownRanges();
  if (subuids.length === 0 || subgids.length === 0) {
    return {
      uidMappings: idMappings(uid, []),
      gidMappings: idMappings(gid, []),
      warning: `no subuid/subgid range for ${name}: only root is mapped in containers; fix: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${name}`,
    };
  }
  return { uidMappings: idMappings(uid, subuids), gidMappings: idMappings(gid, subgids) };
}

/**
 * `--userns=keep-id`, as podman maps it: the user's own id is the same id
 * inside, container ids below it come from the subordinate range, and the
 * rest of the range follows it. Files the container's process (running as
 * that id) writes into a bind mount then belong to the user on the host.
 */
export function keepIdMappings(hostId: number, ranges: SubIdRange[]): IdMapping[] {
  const total = ranges.reduce((n, r) => n + r.count, 0);
  if (total < hostId) {
    throw new CtrError(`--userns=keep-id needs at least ${hostId} subordinate ids, there are ${total}`, { kind: "invalid" });
  }
  // Container ids 0…hostId-1 and hostId+1… are the subordinate ids laid end to end.
  const flat = idMappings(hostId, ranges).slice(1);
  const out: IdMapping[] = [];
  const place = (from: number, count: number, at: number) => {
    // Subordinate ids `from`…`from+count` of the flattened range, at container id `at`.
    for (const m of flat) {
      const lo = Math.max(from, m.containerID - 1);
      const hi = Math.min(from + count, m.containerID - 1 + m.size);
      if (lo < hi) out.push({ containerID: at + (lo - from), hostID: m.hostID + (lo - (m.containerID - 1)), size: hi - lo });
    }
  };
  place(0, hostId, 0);
  out.push({ containerID: hostId, hostID: hostId, size: 1 });
  place(hostId, total - hostId, hostId + 1);
  return out.filter((m) => m.size > 0);
}

/** {@link userIdMaps} for `--userns=keep-id`. */
export function keepIdMaps(): UserIdMaps {
  const { uid, gid, name, subuids, subgids } = ownRanges();
  if (subuids.length === 0 || subgids.length === 0) {
    throw new CtrError(`--userns=keep-id needs a subuid/subgid range for ${name}`, { kind: "invalid" });
  }
  return { uidMappings: keepIdMappings(uid, subuids), gidMappings: keepIdMappings(gid, subgids) };
}

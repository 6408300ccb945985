/**
 * Resolves `--user` / the image's `User` against the image's own
 * `/etc/passwd` and `/etc/group`, as docker does: `name`, `uid`,
 * `name:group`, `uid:gid`; supplementary groups from group membership.
 * Pure: the caller passes the files' text.
 */
import { CtrError } from "../errors.ts";

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
  name?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function parsePasswd(text: string | undefined): PasswdEntry[] {
  return (text ?? "").split("\n").flatMap((line) => {
    const f = line.split(":");
    if (f.length < 7 || line.startsWith("#")) return [];
    return [{ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || "/" }];
  });
}

function parseGroup(text: string | undefined): { name: string; gid: number; members: string[] }[] {
  return (text ?? "").split("\n").flatMap((line) => {
    const f = line.split(":");
    if (f.length < 4 || line.startsWith("#")) return [];
    return [{ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(",").filter(Boolean) }];
  });
}

const isId = (s: string) => /^[0-9]+$/.test(s);

export function resolveUser(spec: string | undefined, passwd: string | undefined, group: string | undefined): ResolvedUser {
  const [userPart = "", groupPart] = (spec || "0").split(":");
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  const entry = isId(userPart) ? users.find((u) => u.uid === Number(userPart)) : users.find((u) => u.name === userPart);
  if (!entry && !isId(userPart)) {
    throw new CtrError(`unable to find user ${userPart}: no matching entries in passwd file`, { kind: "invalid" });
  }
  const uid = entry?.uid ?? Number(userPart);
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== "") {
    if (isId(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw new CtrError(`unable to find group ${groupPart}: no matching entries in group file`, { kind: "invalid" });
      gid = g.gid;
    }
  }
  const additionalGids = entry && groupPart === undefined
    ? groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid)
    : [];
  return { uid, gid, additionalGids, home: entry?.home ?? "/", name: entry?.name };
}

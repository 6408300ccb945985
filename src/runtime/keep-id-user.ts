/**
 * `--userns=keep-id` runs the container as the user's own uid and gid, so
 * the user needs an entry in the container's `/etc/passwd` and `/etc/group`
 * (for `whoami`, `ls -l`, shells' prompts), as podman adds one: name, `*`,
 * uid, gid, full name, home, `/bin/sh`. The home is the user's own when it
 * (or a directory above it) is mounted into the container, else the
 * working directory. An image that already knows the name or the id keeps
 * its entry. The files are written into the container's directory and
 * bind-mounted over the image's, as ctr does with `/etc/hosts`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Mount } from "../oci/runtime.ts";

export interface HostUser {
  name: string;
  uid: number;
  gid: number;
  /** The GECOS field's first part (full name). */
  fullName: string;
  home: string;
  /** The name of the user's primary group, if the host has one. */
  groupName?: string;
}

export interface KeepIdFiles {
  /** New `/etc/passwd` text, or undefined when the image's has the user. */
  passwd?: string;
  /** New `/etc/group` text, or undefined when the image's has the group. */
  group?: string;
  /** The home of the user in the container. */
  home: string;
}

const fields = (text: string | undefined, min: number) =>
  (text ?? "").split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(":")).filter((f) => f.length >= min);

const withLine = (text: string | undefined, line: string) => (text && !text.endsWith("\n") ? `${text}\n` : text ?? "") + `${line}\n`;

export function keepIdFiles(passwd: string | undefined, group: string | undefined, user: HostUser, workdir: string, mountTargets: string[]): KeepIdFiles {
  const known = fields(passwd, 7).find((f) => f[0] === user.name || Number(f[2]) === user.uid);
  const mounted = mountTargets.some((t) => t === user.home || user.home.startsWith(t.endsWith("/") ? t : `${t}/`));
  const home = known ? known[5] || "/" : mounted ? user.home : workdir;
  const out: KeepIdFiles = { home };
  if (!known) out.passwd = withLine(passwd, `${user.name}:*:${user.uid}:${user.gid}:${user.fullName}:${home}:/bin/sh`);
  const groupName = user.groupName ?? user.name;
  if (!fields(group, 4).some((f) => f[0] === groupName || Number(f[2]) === user.gid)) out.group = withLine(group, `${groupName}:x:${user.gid}:${user.name}`);
  return out;
}

/** The user running ctr, from the host's `/etc/passwd` and `/etc/group` text; undefined when the host has no entry. */
export function hostUser(uid: number, gid: number, passwd: string, group: string): HostUser | undefined {
  const p = fields(passwd, 7).find((f) => Number(f[2]) === uid);
  if (!p) return undefined;
  const g = fields(group, 4).find((f) => Number(f[2]) === gid);
  return { name: p[0]!, uid, gid, fullName: (p[4] ?? "").split(",")[0] ?? "", home: p[5] || "/", groupName: g?.[0] };
}

export interface KeepIdEtc {
  /** Bind mounts of the files, to add to the spec's. */
  mounts: Mount[];
  home: string;
  /** Writes the files into the container's directory being made (`tmp`, renamed to `dir` after). */
  write(tmp: string): void;
}

/**
 * For a keep-id container in `dir`: the passwd and group files the image
 * lacks the user's entries in, and their mounts. Undefined when the host
 * has no entry for the user.
 *
 * @param userMounts the container's other mounts: a file mounted by the user wins
 */
export function keepIdEtc(dir: string, passwd: string | undefined, group: string | undefined, workdir: string, userMounts: Mount[]): KeepIdEtc | undefined {
  let user: HostUser | undefined;
  try {
    user = hostUser(process.getuid!(), process.getgid!(), readFileSync("/etc/passwd", "utf8"), readFileSync("/etc/group", "utf8"));
  } catch {
    return undefined;
  }
  if (!user) return undefined;
  const files = keepIdFiles(passwd, group, user, workdir, userMounts.map((m) => m.destination));
  const chosen = (["passwd", "group"] as const).filter((f) => files[f] !== undefined && !userMounts.some((m) => m.destination === `/etc/${f}`));
  return {
    home: files.home,
    mounts: chosen.map((f) => ({ destination: `/etc/${f}`, type: "bind", source: join(dir, f), options: ["rbind", "rprivate"] })),
    write: (tmp) => {
      for (const f of chosen) writeFileSync(join(tmp, f), files[f]!, { mode: 0o644 });
    },
  };
}

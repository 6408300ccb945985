/**
 * containers-registries.conf(5), version 2: where a reference is pulled from.
 *
 * Files, as podman reads them: `$CONTAINERS_REGISTRIES_CONF` alone if set;
 * otherwise `$XDG_CONFIG_HOME/containers/registries.conf` if it exists, else
 * `/etc/containers/registries.conf`, then the drop-ins of
 * `/etc/containers/registries.conf.d/` and `$XDG_CONFIG_HOME/containers/registries.conf.d/`
 * in lexical order. A later file's `unqualified-search-registries` and
 * `short-name-mode` replace earlier ones; `[[registry]]` entries replace the
 * earlier entry with the same prefix; `[aliases]` merge.
 *
 * Loading does I/O; everything after (`parseRegistriesConf`, `pullSources`,
 * `shortNameCandidates`) is pure.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CtrError, errorText } from "../errors.ts";
import { xdgConfigHome } from "../paths.ts";
import { formatReference, normalize, parseReference, type Reference } from "./reference.ts";

export interface Endpoint {
  /** Host[:port][/path-prefix] that replaces the matched prefix. */
  location: string;
  insecure: boolean;
}

export interface RegistryEntry {
  prefix: string;
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrorByDigestOnly: boolean;
  mirrors: (Endpoint & { pullFrom: "all" | "digest-only" | "tag-only" })[];
}

export interface RegistriesConf {
  unqualifiedSearch: string[];
  shortNameMode: "enforcing" | "permissive" | "disabled";
  registries: RegistryEntry[];
  aliases: Record<string, string>;
  /** Files read, in order, for messages and `ctr info`. */
  files: string[];
}

export function emptyConf(): RegistriesConf {
  return { unqualifiedSearch: [], shortNameMode: "enforcing", registries: [], aliases: {}, files: [] };
}

const SYSTEM_CONF = "/etc/containers/registries.conf";

/** Reads the files podman would read, in its order. */
export function loadRegistriesConf(env = process.env): RegistriesConf {
  const conf = emptyConf();
  const files: string[] = [];
  if (env.CONTAINERS_REGISTRIES_CONF) {
    files.push(env.CONTAINERS_REGISTRIES_CONF);
  } else {
    const userDir = join(xdgConfigHome(env), "containers");
    const userConf = join(userDir, "registries.conf");
    files.push(existsSync(userConf) ? userConf : SYSTEM_CONF);
    for (const dir of ["/etc/containers/registries.conf.d", join(userDir, "registries.conf.d")]) {
      files.push(...dropIns(dir));
    }
  }
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue; // a missing file is an empty one, as in podman
    }
    mergeConf(conf, parseRegistriesConf(text, file));
    conf.files.push(file);
  }
  return conf;
}

function dropIns(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith(".conf")).sort().map((f) => join(dir, f));
  } catch {
    return [];
  }
}

type Partial_ = Partial<Omit<RegistriesConf, "registries" | "aliases" | "files">> & {
  registries: RegistryEntry[];
  aliases: Record<string, string>;
};

/** Parses one file; throws a CtrError naming the file on bad TOML or bad values. */
export function parseRegistriesConf(text: string, file: string): Partial_ {
  let doc: Record<string, unknown>;
  try {
    doc = Bun.TOML.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new CtrError(`invalid registries.conf "${file}": ${errorText(err)}`, { kind: "invalid", cause: err });
  }
  const bad = (what: string) => new CtrError(`invalid registries.conf "${file}": ${what}`, { kind: "invalid" });
  const out: Partial_ = { registries: [], aliases: {} };
  const search = doc["unqualified-search-registries"];
  if (search !== undefined) {
    if (!Array.isArray(search) || search.some((s) => typeof s !== "string")) throw bad("unqualified-search-registries must be a list of strings");
    out.unqualifiedSearch = search as string[];
  }
  const mode = doc["short-name-mode"];
  if (mode !== undefined) {
    if (mode !== "enforcing" && mode !== "permissive" && mode !== "disabled") throw bad(`short-name-mode "${String(mode)}" is not enforcing, permissive or disabled`);
    out.shortNameMode = mode;
  }
  const regs = doc.registry ?? [];
  if (!Array.isArray(regs)) throw bad("[[registry]] must be an array of tables");
  for (const [i, r] of regs.entries()) {
    const e = r as Record<string, unknown>;
    const location = typeof e.location === "string" ? stripScheme(e.location) : "";
    const prefix = typeof e.prefix === "string" ? stripScheme(e.prefix) : location;
    if (!prefix) throw bad(`registry #${i + 1} has neither prefix nor location`);
    const mirrors = Array.isArray(e.mirror) ? e.mirror : [];
    out.registries.push({
      prefix,
      location: location || prefix,
      insecure: e.insecure === true,
      blocked: e.blocked === true,
      mirrorByDigestOnly: e["mirror-by-digest-only"] === true,
      mirrors: mirrors.map((m: Record<string, unknown>, j: number) => {
        if (typeof m.location !== "string" || !m.location) throw bad(`registry "${prefix}" mirror #${j + 1} has no location`);
        const pullFrom = m["pull-from-mirror"] ?? "all";
        if (pullFrom !== "all" && pullFrom !== "digest-only" && pullFrom !== "tag-only") throw bad(`registry "${prefix}" mirror "${m.location}": pull-from-mirror "${String(pullFrom)}"`);
        return { location: stripScheme(m.location), insecure: m.insecure === true, pullFrom };
      }),
    });
  }
  const aliases = doc.aliases ?? {};
  if (typeof aliases !== "object" || aliases === null) throw bad("[aliases] must be a table");
  for (const [k, v] of Object.entries(aliases)) {
    if (typeof v !== "string") throw bad(`alias "${k}" must be a string`);
    out.aliases[k] = v;
  }
  return out;
}

function stripScheme(s: string): string {
  return s.replace(/^[a-z]+:\/\//, "").replace(/\/+$/, "");
}

function mergeConf(into: RegistriesConf, from: Partial_): void {
  if (from.unqualifiedSearch) into.unqualifiedSearch = from.unqualifiedSearch;
  if (from.shortNameMode) into.shortNameMode = from.shortNameMode;
  for (const r of from.registries) {
    const i = into.registries.findIndex((x) => x.prefix === r.prefix);
    if (i >= 0) into.registries[i] = r;
    else into.registries.push(r);
  }
  Object.assign(into.aliases, from.aliases);
}

/** The registry entry whose prefix is the longest match for `name` (`domain/path`). */
export function findRegistry(conf: RegistriesConf, name: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  let bestLen = -1;
  for (const r of conf.registries) {
    const len = prefixMatch(r.prefix, name);
    if (len > bestLen) {
      best = r;
      bestLen = len;
    }
  }
  return best;
}

/** Length of the match of `prefix` against `name`, or -1; `*.example.com` matches subdomains. */
function prefixMatch(prefix: string, name: string): number {
  if (prefix.startsWith("*.")) {
    const host = name.split("/")[0] ?? "";
    return host.endsWith(prefix.slice(1)) ? prefix.length : -1;
  }
  if (name === prefix) return prefix.length;
  if (name.startsWith(prefix) && "/:@".includes(name[prefix.length] ?? "")) return prefix.length;
  return -1;
}

/** One place to try a pull from: the endpoint's registry host and the repository there. */
export interface PullSource {
  /** Registry host[:port] to talk to. */
  registry: string;
  /** Repository path at that registry. */
  repository: string;
  insecure: boolean;
  mirror: boolean;
}

/**
 * Where to pull a fully qualified reference from: mirrors first, then the
 * (possibly rewritten) primary location, as containers-registries.conf(5)
 * describes. Throws when the registry is blocked.
 */
export function pullSources(conf: RegistriesConf, ref: Reference & { domain: string }): PullSource[] {
  const name = `${ref.domain}/${ref.path}`;
  const entry = findRegistry(conf, name);
  if (!entry) return [{ ...splitLocation(name), insecure: false, mirror: false }];
  if (entry.blocked) throw new CtrError(`registry "${entry.prefix}" is blocked in registries.conf`, { kind: "invalid" });
  const rewrite = (location: string) => location + name.slice(entry.prefix.startsWith("*.") ? (name.split("/")[0] ?? "").length : entry.prefix.length);
  const byDigest = ref.digest !== undefined;
  const sources: PullSource[] = [];
  for (const m of entry.mirrors) {
    if (entry.mirrorByDigestOnly && !byDigest) continue;
    if (m.pullFrom === "digest-only" && !byDigest) continue;
    if (m.pullFrom === "tag-only" && byDigest) continue;
    sources.push({ ...splitLocation(rewrite(m.location)), insecure: m.insecure, mirror: true });
  }
  const primary = entry.prefix.startsWith("*.") ? name : rewrite(entry.location);
  sources.push({ ...splitLocation(primary), insecure: entry.insecure, mirror: false });
  return sources;
}

function splitLocation(full: string): { registry: string; repository: string } {
  const slash = full.indexOf("/");
  return slash < 0 ? { registry: full, repository: "" } : { registry: full.slice(0, slash), repository: full.slice(slash + 1) };
}

/**
 * The fully qualified references a short name may mean, in the order to try:
 * an alias if one is configured, else each unqualified-search registry.
 * A reference with a domain is returned alone, normalized.
 */
export function shortNameCandidates(conf: RegistriesConf, ref: Reference): (Reference & { domain: string })[] {
  if (ref.domain) return [normalize(ref as Reference & { domain: string })];
  const alias = conf.aliases[ref.path];
  if (alias) {
    const target = parseReference(alias);
    if (!target.domain) throw new CtrError(`alias "${ref.path}" in registries.conf is not fully qualified: "${alias}"`, { kind: "invalid" });
    return [normalize({ domain: target.domain, path: target.path, tag: ref.tag ?? target.tag, digest: ref.digest ?? target.digest })];
  }
  if (conf.unqualifiedSearch.length === 0) {
    throw new CtrError(
      `short-name "${formatReference(ref)}" did not resolve to an alias and no unqualified-search registries are defined in registries.conf`,
      { kind: "invalid" },
    );
  }
  return conf.unqualifiedSearch.map((domain) => normalize({ ...ref, domain }));
}

/**
 * Parses the mount flags of `run`/`create` (`-v`, `--mount`, `--tmpfs`) into
 * mount requests, checking everything that can be checked without touching
 * the disk, so bad input fails before anything is created.
 */
import { isAbsolute, normalize, resolve } from "node:path";
import { CtrError } from "../errors.ts";
import { checkVolumeName } from "./store.ts";

export interface MountRequest {
  type: "bind" | "volume" | "tmpfs";
  /** Host path (bind), volume name (volume; absent: anonymous). */
  source?: string;
  /** Absolute path in the container. */
  target: string;
  readonly: boolean;
  /** `-v` creates a missing bind source, as docker does; `--mount` refuses it. */
  createSource: boolean;
  /** tmpfs data options (`size=`, `mode=`). */
  tmpfsOptions: string[];
}

function invalid(flag: string, value: string, why: string): never {
  throw new CtrError(`invalid ${flag} "${value}": ${why}`, { kind: "invalid" });
}

/** A container path: absolute, not `/`, and not over `/proc` (the kernel's view of the container). */
function target(flag: string, value: string, path: string | undefined): string {
  if (!path) invalid(flag, value, "missing the container path");
  if (!isAbsolute(path)) invalid(flag, value, `container path "${path}" is not absolute`);
  const t = normalize(path).replace(/\/+$/, "") || "/";
  if (t === "/") invalid(flag, value, "cannot mount over the container's root");
  if (t === "/proc" || t.startsWith("/proc/")) invalid(flag, value, `cannot mount over "${t}"`);
  return t;
}

/** `-v SRC:DST[:OPTS]`, `-v DST` (anonymous volume). */
export function parseVolumeFlag(value: string): MountRequest {
  const parts = value.split(":");
  if (parts.length > 3 || parts.some((p) => p === "")) invalid("-v", value, "expected [SOURCE:]CONTAINER-PATH[:OPTIONS]");
  if (parts.length === 1) return { type: "volume", target: target("-v", value, parts[0]), readonly: false, createSource: true, tmpfsOptions: [] };
  const [src, dst, opts] = parts as [string, string, string | undefined];
  let readonly = false;
  for (const o of (opts ?? "").split(",").filter(Boolean)) {
    if (o === "ro") readonly = true;
    else if (o === "rw") readonly = false;
    // SELinux relabelling (z, Z) means nothing without SELinux; nocopy and U are accepted as podman does.
    else if (!["z", "Z", "nocopy", "U", "rprivate", "private", "rslave", "slave", "rbind", "bind"].includes(o)) invalid("-v", value, `unknown option "${o}"`);
  }
  const isPath = src.startsWith("/") || src.startsWith("./") || src.startsWith("../") || src === "." || src === "..";
  if (!isPath) {
    if (src.includes("/")) invalid("-v", value, `volume name "${src}" must not contain "/"`);
    checkVolumeName(src);
  }
  return { type: isPath ? "bind" : "volume", source: isPath ? resolve(src) : src, target: target("-v", value, dst), readonly, createSource: true, tmpfsOptions: [] };
}

/** `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly]`. */
export function parseMountFlag(value: string): MountRequest {
  const kv = new Map<string, string | undefined>();
  for (const field of value.split(",")) {
    const eq = field.indexOf("=");
    kv.set(eq < 0 ? field : field.slice(0, eq), eq < 0 ? undefined : field.slice(eq + 1));
  }
  const type = kv.get("type") ?? "volume";
  if (type !== "bind" && type !== "volume" && type !== "tmpfs") invalid("--mount", value, `unsupported type "${type}": expected bind, volume or tmpfs`);
  let source: string | undefined;
  let dst: string | undefined;
  let readonly = false;
  const tmpfsOptions: string[] = [];
  for (const [k, v] of kv) {
    switch (k) {
      case "type":
        break;
      case "source":
      case "src":
        source = v;
        break;
      case "target":
      case "destination":
      case "dst":
        dst = v;
        break;
      case "readonly":
      case "ro":
        if (v !== undefined && !["true", "false", "1", "0"].includes(v)) invalid("--mount", value, `invalid ${k} value "${v}"`);
        readonly = v === undefined || v === "true" || v === "1";
        break;
      case "tmpfs-size":
        tmpfsOptions.push(`size=${v}`);
        break;
      case "tmpfs-mode":
        tmpfsOptions.push(`mode=${v}`);
        break;
      case "bind-propagation":
      case "volume-nocopy":
      case "relabel":
      case "consistency":
        break;
      default:
        invalid("--mount", value, `unknown field "${k}"`);
    }
  }
  if (type === "bind") {
    if (!source) invalid("--mount", value, "type=bind needs source=<host path>");
    if (!isAbsolute(source)) invalid("--mount", value, `bind source "${source}" is not absolute`);
    source = normalize(source);
  } else if (type === "volume" && source) {
    if (source.includes("/")) invalid("--mount", value, `volume name "${source}" must not contain "/"`);
    checkVolumeName(source);
  } else if (type === "tmpfs" && source) {
    invalid("--mount", value, "type=tmpfs takes no source");
  }
  return { type, source: source || undefined, target: target("--mount", value, dst), readonly, createSource: false, tmpfsOptions };
}

/** `--tmpfs /path[:size=64m,mode=1777,…]`. */
export function parseTmpfsFlag(value: string): MountRequest {
  const colon = value.indexOf(":");
  const path = colon < 0 ? value : value.slice(0, colon);
  const opts = colon < 0 ? [] : value.slice(colon + 1).split(",").filter(Boolean);
  let readonly = false;
  const tmpfsOptions = opts.filter((o) => {
    if (o === "ro") readonly = true;
    return o !== "ro" && o !== "rw";
  });
  return { type: "tmpfs", target: target("--tmpfs", value, path), readonly, createSource: false, tmpfsOptions };
}

/** All mount flags in docker's order; a container path given twice is refused. */
export function parseMountFlags(flags: { volume: string[]; mount: string[]; tmpfs: string[] }): MountRequest[] {
  const out = [...flags.volume.map(parseVolumeFlag), ...flags.mount.map(parseMountFlag), ...flags.tmpfs.map(parseTmpfsFlag)];
  const seen = new Set<string>();
  for (const m of out) {
    if (seen.has(m.target)) throw new CtrError(`duplicate mount destination "${m.target}"`, { kind: "invalid" });
    seen.add(m.target);
  }
  return out;
}

/**
 * `--volumes-from CONTAINER[:ro|rw]`: that container's volumes and bind
 * mounts (not its tmpfs) at the same paths; `ro`/`rw` overrides their mode.
 * Paths the container's own flags mount are left to those.
 */
export function volumesFromRequests(value: string, mounts: MountRecordLike[], taken: Set<string>): MountRequest[] {
  const colon = value.lastIndexOf(":");
  const mode = colon < 0 ? undefined : value.slice(colon + 1);
  if (mode !== undefined && mode !== "ro" && mode !== "rw" && mode !== "z" && mode !== "Z") invalid("--volumes-from", value, `unknown option "${mode}"`);
  const out: MountRequest[] = [];
  for (const m of mounts) {
    if (m.Type === "tmpfs" || taken.has(m.Destination)) continue;
    taken.add(m.Destination);
    const readonly = mode === "ro" ? true : mode === "rw" ? false : !m.RW;
    out.push({ type: m.Type, source: m.Type === "volume" ? m.Name : m.Source, target: m.Destination, readonly, createSource: false, tmpfsOptions: [] });
  }
  return out;
}

/** The fields of a container's recorded mount that `--volumes-from` reads. */
export interface MountRecordLike {
  Type: "bind" | "volume" | "tmpfs";
  Name?: string;
  Source: string;
  Destination: string;
  RW: boolean;
}

/** The container named in a `--volumes-from` value. */
export function volumesFromContainer(value: string): string {
  const colon = value.lastIndexOf(":");
  return colon < 0 ? value : value.slice(0, colon);
}

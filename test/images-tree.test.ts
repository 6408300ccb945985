/**
 * The unpacked tree, entry by entry, against what the layer tars say: the
 * layers are fetched from the registry and read here with a tar-header
 * parser of this test's own (not ctr's reader), whiteouts and opaque
 * directories applied in layer order; the tree a container sees is listed
 * with busybox `find` and `stat` inside it. Mode (type and permission bits,
 * setuid/setgid/sticky included), owner, size of regular files, symlink
 * targets and hardlinks (one inode) must match for every path.
 */
import { describe, expect, test } from "bun:test";
import { ctr, ctrOk, newStore, REGISTRY } from "./helpers.ts";

const MANIFEST_ACCEPT = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json";
/** Paths the runtime mounts or writes over in every container. */
const RUNTIME_PATHS = new Set(["dev", "proc", "sys", "etc/hosts", "etc/hostname", "etc/resolv.conf"]);

interface TarEntry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname: string;
}

/** What a path should be: the POSIX mode with its type bits, as `stat -c %f` prints it. */
interface Expected {
  mode: number;
  uid: number;
  gid: number;
  /** Regular files only. */
  size?: number;
  link?: string;
  /** For a hardlink: the path it shares an inode with. */
  sameInodeAs?: string;
}

const dec = new TextDecoder();

function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return dec.decode(end < 0 ? b : b.subarray(0, end));
}

/** A numeric header field: octal text, or GNU base-256 when the top bit is set. */
function number(b: Uint8Array): number {
  if (b[0]! & 0x80) {
    let v = b[0]! & 0x7f;
    for (const x of b.subarray(1)) v = v * 256 + x;
    return v;
  }
  const text = cString(b).trim();
  return text === "" ? 0 : parseInt(text, 8);
}

/** ustar headers, with PAX `x` records and GNU `L`/`K` long names applied to the next entry. */
function readTar(tar: Uint8Array): TarEntry[] {
  const out: TarEntry[] = [];
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (let off = 0; off + 512 <= tar.length; ) {
    const h = tar.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = number(h.subarray(124, 136));
    const type = h[156] === 0 ? "0" : String.fromCharCode(h[156]!);
    const data = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === "x") {
      for (let rest = dec.decode(data); rest.length > 0; ) {
        const len = parseInt(rest, 10);
        const rec = rest.slice(0, len);
        const eq = rec.indexOf("=");
        pax[rec.slice(rec.indexOf(" ") + 1, eq)] = rec.slice(eq + 1, -1);
        rest = rest.slice(len);
      }
      continue;
    }
    if (type === "g") continue;
    if (type === "L") {
      longName = cString(data);
      continue;
    }
    if (type === "K") {
      longLink = cString(data);
      continue;
    }
    const prefix = cString(h.subarray(257, 263)).startsWith("ustar") ? cString(h.subarray(345, 500)) : "";
    const name = pax.path ?? longName ?? (prefix ? `${prefix}/${cString(h.subarray(0, 100))}` : cString(h.subarray(0, 100)));
    out.push({
      path: name.replace(/^\.\//, "").replace(/\/+$/, ""),
      type,
      mode: number(h.subarray(100, 108)) & 0o7777,
      uid: pax.uid !== undefined ? Number(pax.uid) : number(h.subarray(108, 116)),
      gid: pax.gid !== undefined ? Number(pax.gid) : number(h.subarray(116, 124)),
      size: pax.size !== undefined ? Number(pax.size) : size,
      linkname: (pax.linkpath ?? longLink ?? cString(h.subarray(157, 257))).replace(/^\.\//, ""),
    });
    pax = {};
    longName = undefined;
    longLink = undefined;
  }
  return out;
}

const TYPE_BITS: Record<string, number> = { "0": 0o100000, "5": 0o040000, "2": 0o120000 };

/** Applies layers bottom to top as overlayfs shows them: whiteouts and opaque markers hide what is below. */
function expectedTree(layers: TarEntry[][]): Map<string, Expected> {
  const tree = new Map<string, Expected>();
  const removeBelow = (path: string, self: boolean) => {
    for (const p of [...tree.keys()]) if ((self && p === path) || p.startsWith(`${path}/`)) tree.delete(p);
  };
  for (const entries of layers) {
    const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);
    const parent = (p: string) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");
    for (const e of entries) {
      if (base(e.path) === ".wh..wh..opq") removeBelow(parent(e.path), false);
      else if (base(e.path).startsWith(".wh.")) removeBelow(`${parent(e.path) ? `${parent(e.path)}/` : ""}${base(e.path).slice(4)}`, true);
    }
    for (const e of entries) {
      if (base(e.path).startsWith(".wh.")) continue;
      if (e.type === "1") {
        const target = tree.get(e.linkname);
        if (!target) throw new Error(`hardlink ${e.path} to ${e.linkname}, which the layer has not made`);
        tree.set(e.path, { ...target, sameInodeAs: e.linkname });
        continue;
      }
      const bits = TYPE_BITS[e.type];
      if (bits === undefined) throw new Error(`entry ${e.path} of type ${e.type}: not expected in the seeded images`);
      // A non-directory replaces a whole directory; a directory over a directory merges.
      if (e.type !== "5") removeBelow(e.path, true);
      tree.set(e.path, { mode: bits | (e.type === "2" ? 0o777 : e.mode), uid: e.uid, gid: e.gid, ...(e.type === "0" && { size: e.size }), ...(e.type === "2" && { link: e.linkname }) });
    }
  }
  return tree;
}

async function layerTars(repo: string): Promise<TarEntry[][]> {
  const manifest = (await (await fetch(`http://${REGISTRY}/v2/${repo}/manifests/latest`, { headers: { Accept: MANIFEST_ACCEPT } })).json()) as { layers: { mediaType: string; digest: string }[] };
  const out: TarEntry[][] = [];
  for (const l of manifest.layers) {
    const blob = new Uint8Array(await (await fetch(`http://${REGISTRY}/v2/${repo}/blobs/${l.digest}`)).arrayBuffer());
    const tar = l.mediaType.endsWith("zstd") ? Bun.zstdDecompressSync(blob) : l.mediaType.endsWith("gzip") ? Bun.gunzipSync(blob) : blob;
    out.push(readTar(new Uint8Array(tar)));
  }
  return out;
}

/** Every path a container of `image` sees on its root filesystem, with stat's view of it. */
async function containerTree(image: string): Promise<Map<string, Expected & { inode: number }>> {
  await using store = await newStore();
  await ctrOk(["pull", "-q", image], { store });
  const script = [
    `find / -xdev -mindepth 1 -exec stat -c '%f|%u|%g|%s|%i|%n' {} +`,
    `echo ---`,
    `find / -xdev -type l -exec sh -c 'for p; do echo "$p|$(readlink "$p")"; done' sh {} +`,
  ].join("; ");
  const r = await ctr(["run", "--rm", image, "sh", "-c", script], { store });
  expect(r.code).toBe(0);
  const [stats, links] = r.stdout.split("---\n") as [string, string];
  const tree = new Map<string, Expected & { inode: number }>();
  for (const line of stats.split("\n").filter(Boolean)) {
    const [mode, uid, gid, size, inode, ...name] = line.split("|");
    const m = parseInt(mode!, 16);
    tree.set(name.join("|").slice(1), { mode: m, uid: Number(uid), gid: Number(gid), inode: Number(inode), ...((m & 0o170000) === 0o100000 && { size: Number(size) }) });
  }
  for (const line of links.split("\n").filter(Boolean)) {
    const bar = line.indexOf("|");
    tree.get(line.slice(1, bar))!.link = line.slice(bar + 1);
  }
  return tree;
}

function withoutRuntime<T>(tree: Map<string, T>): Map<string, T> {
  return new Map([...tree].filter(([p]) => !RUNTIME_PATHS.has(p) && ![...RUNTIME_PATHS].some((r) => p.startsWith(`${r}/`))));
}

describe("unpacked tree against the layer tars", () => {
  for (const repo of ["ctrtest/layered", "ctrtest/owners"]) {
    test(`${repo}: every path has the mode, owner, size and link target its layers give it`, async () => {
      const layers = await layerTars(repo);
      const want = withoutRuntime(expectedTree(layers));
      const got = withoutRuntime(await containerTree(`${REGISTRY}/${repo}:latest`));
      const plain = (m: Map<string, Expected>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, e]) => [p, `${e.mode.toString(8)} ${e.uid}:${e.gid}${e.size !== undefined ? ` ${e.size}` : ""}${e.link !== undefined ? ` -> ${e.link}` : ""}`]));
      expect(plain(got)).toEqual(plain(want));
      for (const [path, e] of want) if (e.sameInodeAs) expect(got.get(path)!.inode).toBe(got.get(e.sameInodeAs)!.inode);
    }, 90_000);
  }

  test("the seeded trees hold what this test is meant to cover", async () => {
    const layered = expectedTree(await layerTars("ctrtest/layered"));
    expect(layered.has("etc/motd")).toBe(false);
    expect([...layered.keys()].filter((p) => p.startsWith("opt/data/"))).toEqual(["opt/data/c.txt"]);
    const owners = await layerTars("ctrtest/owners");
    const flat = owners.flat();
    expect(flat.some((e) => e.uid === 1000)).toBe(true);
    expect(flat.some((e) => e.uid > 2 ** 21)).toBe(true);
    for (const bit of [0o4000, 0o2000, 0o1000]) expect(flat.some((e) => e.mode & bit)).toBe(true);
    expect(flat.some((e) => e.type === "1")).toBe(true);
    expect(flat.some((e) => e.type === "2" && e.linkname === "../../../etc/passwd")).toBe(true);
    expect(owners[1]!.find((e) => e.path === "opt/owners/becomes")?.type).toBe("0");
    expect(owners[2]!.find((e) => e.path === "opt/owners/becomes")?.type).toBe("5");
  }, 90_000);
});

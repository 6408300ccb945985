/**
 * `system df`, `system prune`, `system reset` and `system check`, end to
 * end as the unprivileged user. Sizes are checked against `du -sb` of the
 * store's files, run by the test, and the store is read (and damaged) the
 * way a user would: through its documented layout, not ctr's code.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ctr, ctrOk, newStore, REGISTRY, type TestStore } from "./helpers.ts";

const LAYERED = `${REGISTRY}/ctrtest/layered`;

/** `du -sb` of the paths as one run (a hard link counts once); "Permission denied" on overlay's work/work is fine. */
function du(paths: string[]): number {
  if (paths.length === 0) return 0;
  const p = Bun.spawnSync(["du", "-sbc", "--", ...paths], { stderr: "pipe" });
  const total = p.stdout.toString().trim().split("\n").pop()!;
  expect(total).toMatch(/^\d+\ttotal$/);
  return Number(total.split("\t")[0]);
}

/** go-units' HumanSize as docker and podman print it (decimal, 3 significant digits here as in `ctr images`). */
function human(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  let v = bytes;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

interface StoreImage {
  id: string;
  manifestDigest: string;
  names: string[];
  layers: string[];
}

/** A process that exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

const storage = (s: TestStore) => join(s.dataDir, "storage");
const hex = (d: string) => d.replace(/^sha256:/, "");
const blobPath = (s: TestStore, d: string) => join(storage(s), "blobs", "sha256", hex(d));
const layerPath = (s: TestStore, d: string) => join(storage(s), "layers", hex(d));
const images = (s: TestStore): StoreImage[] => JSON.parse(readFileSync(join(storage(s), "images.json"), "utf8")).images;
const image = (s: TestStore, name: string) => images(s).find((i) => i.names.some((n) => n.includes(name)))!;

/** An image's blob files: manifest, config, compressed layers. */
function imageBlobs(s: TestStore, img: StoreImage): string[] {
  const m = JSON.parse(readFileSync(blobPath(s, img.manifestDigest), "utf8"));
  return [img.manifestDigest, m.config.digest, ...m.layers.map((l: { digest: string }) => l.digest)].map((d) => blobPath(s, d));
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => /^[a-f0-9]{64}$|^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(n) && !n.startsWith(".")).map((n) => join(dir, n));
  } catch {
    return [];
  }
}

/** Every item `system prune` may remove, as paths. */
function items(s: TestStore): string[] {
  return [
    ...list(join(s.dataDir, "containers")),
    ...list(join(s.dataDir, "volumes")),
    ...list(join(storage(s), "layers")).filter((p) => /[a-f0-9]{64}$/.test(p)),
    ...list(join(storage(s), "blobs", "sha256")),
  ];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function freshStore(): Promise<TestStore> {
  const s = await newStore();
  cleanups.push(async () => {
    await ctr(["rm", "-a", "-f"], { store: s });
    await s.cleanup();
  });
  return s;
}

async function dfRows(store: TestStore): Promise<Record<string, number[]>> {
  const r = await ctrOk(["system", "df", "--format", "{{.Type}}\t{{.Total}}\t{{.Active}}\t{{.RawSize}}\t{{.RawReclaimable}}"], { store });
  return Object.fromEntries(r.stdout.trim().split("\n").map((l) => {
    const [type, ...n] = l.split("\t");
    return [type!, n.map(Number)];
  }));
}

describe("system df", () => {
  test("sizes match du of the store, a shared layer counted once", async () => {
    const store = await freshStore();
    await ctrOk(["pull", "-q", "alpine"], { store });
    await ctrOk(["pull", "-q", LAYERED], { store });
    const alpine = image(store, "library/alpine");
    const layered = image(store, "ctrtest/layered");
    // The two images share their bottom layer: the store has it once.
    expect(layered.layers).toContain(alpine.layers[0]!);
    await ctrOk(["run", "--name", "writer", "-v", "dfvol:/v", "alpine", "sh", "-c", "head -c 200000 /dev/urandom > /v/blob; head -c 30000 /dev/urandom > /in-layer"], { store });
    await ctrOk(["volume", "create", "idle"], { store });
    writeFileSync(join(store.dataDir, "volumes", "idle", "_data", "f"), "x".repeat(5000));

    const rows = await dfRows(store);
    const layerDirs = list(join(storage(store), "layers")).filter((p) => /[a-f0-9]{64}$/.test(p));
    const blobs = list(join(storage(store), "blobs", "sha256"));
    expect(layerDirs).toHaveLength(new Set([...alpine.layers, ...layered.layers]).size);
    // Reclaimable: what only the image no container uses has.
    const onlyLayered = [
      ...layered.layers.filter((l) => !alpine.layers.includes(l)).map((l) => layerPath(store, l)),
      ...imageBlobs(store, layered).filter((b) => !imageBlobs(store, alpine).includes(b)),
    ];
    expect(rows.Images).toEqual([2, 1, du([...layerDirs, ...blobs]), du(onlyLayered)]);
    const cdir = list(join(store.dataDir, "containers"));
    expect(cdir).toHaveLength(1);
    expect(rows.Containers).toEqual([1, 0, du(cdir), du(cdir)]);
    expect(du(cdir)).toBeGreaterThan(30000);
    const vols = [join(store.dataDir, "volumes", "dfvol"), join(store.dataDir, "volumes", "idle")];
    expect(rows["Local Volumes"]).toEqual([2, 1, du(vols), du([vols[1]!])]);
    expect(rows["Build Cache"]).toEqual([0, 0, 0, 0]);

    const table = (await ctrOk(["system", "df"], { store })).stdout.split("\n");
    expect(table[0]).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    expect(table[1]).toMatch(new RegExp(`^Images\\s+2\\s+1\\s+${human(rows.Images![2]!)}\\s+${human(rows.Images![3]!)} \\(\\d+%\\)$`));
    expect(table[2]).toMatch(/^Containers\s+1\s+0\s+\S+\s+\S+ \(100%\)$/);

    const verbose = (await ctrOk(["system", "df", "-v"], { store })).stdout;
    expect(verbose).toContain("Images space usage:");
    expect(verbose).toMatch(/REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s+SHARED SIZE\s+UNIQUE SIZE\s+CONTAINERS/);
    expect(verbose).toMatch(new RegExp(`${alpine.id.slice(7, 19)}.*\\s1\\n`));
    expect(verbose).toMatch(/Containers space usage:[\s\S]*writer/);
    expect(verbose).toMatch(/Local Volumes space usage:[\s\S]*VOLUME NAME\s+LINKS\s+SIZE[\s\S]*dfvol\s+1\s+/);
    const both = await ctr(["system", "df", "-v", "--format", "{{.Type}}"], { store });
    expect(both.code).toBe(125);
  });
});

describe("system prune", () => {
  test("asks first, then frees exactly what it reports and keeps what is in use", async () => {
    const store = await freshStore();
    await ctrOk(["pull", "-q", "alpine"], { store });
    await ctrOk(["pull", "-q", LAYERED], { store });
    await ctrOk(["run", "-d", "--name", "keeper", "-v", "inuse:/v", "alpine", "sleep", "600"], { store });
    await ctrOk(["run", "--name", "done1", "-v", "orphan:/v", "alpine", "sh", "-c", "head -c 50000 /dev/urandom > /v/f; head -c 20000 /dev/urandom > /f"], { store });
    await ctrOk(["run", "--name", "done2", "alpine", "true"], { store });

    const no = await ctr(["system", "prune"], { store, stdin: "n\n" });
    expect(no.code).toBe(0);
    expect(no.stderr).toContain("Are you sure you want to continue? [y/N]");
    expect(no.stdout).toBe("");
    expect((await ctrOk(["ps", "-a", "-q"], { store })).stdout.trim().split("\n")).toHaveLength(3);

    // Stopped containers only (no dangling image, volumes not asked for).
    let before = new Map(items(store).map((p) => [p, du([p])]));
    const first = await ctr(["system", "prune"], { store, stdin: "y\n" });
    expect(first.code).toBe(0);
    let gone = [...before.keys()].filter((p) => !existsSync(p));
    expect(gone).toHaveLength(2);
    expect(first.stdout).toContain("Deleted Containers\n");
    expect(first.stdout).toEndWith(`Total reclaimed space: ${human(gone.reduce((s, p) => s + before.get(p)!, 0))}\n`);
    expect((await ctrOk(["ps", "-a", "--format", "{{.Names}}"], { store })).stdout).toBe("keeper\n");

    const layered = image(store, "ctrtest/layered");
    before = new Map(items(store).map((p) => [p, du([p])]));
    const all = await ctrOk(["system", "prune", "-a", "--volumes", "-f"], { store });
    gone = [...before.keys()].filter((p) => !existsSync(p));
    const freed = gone.reduce((s, p) => s + before.get(p)!, 0);
    expect(all.stdout).toEndWith(`Total reclaimed space: ${human(freed)}\n`);
    // The unused volume and image went, with the layers and blobs only that image had.
    expect(gone).toContain(join(store.dataDir, "volumes", "orphan"));
    expect(gone).toContain(layerPath(store, layered.layers[layered.layers.length - 1]!));
    expect(gone).toContain(blobPath(store, layered.manifestDigest));
    expect(gone).not.toContain(layerPath(store, layered.layers[0]!));
    expect(all.stdout).toContain("Deleted Volumes\norphan\n");
    expect(all.stdout).toContain(`Deleted Images\n${layered.id.slice(7)}\n`);
    // What the running container uses stays: its volume, its image, their layers.
    expect((await ctrOk(["volume", "ls", "-q"], { store })).stdout).toBe("inuse\n");
    expect((await ctrOk(["images", "--format", "{{.Repository}}"], { store })).stdout).toBe("docker.io/library/alpine\n");
    await ctrOk(["exec", "keeper", "true"], { store });
    await ctrOk(["rm", "-f", "keeper"], { store });
    expect((await ctrOk(["run", "--rm", "alpine", "echo", "still runs"], { store })).stdout).toBe("still runs\n");
  });
});

describe("system prune and networks", () => {
  test("removes the networks no container uses, keeps those in use and the default one", async () => {
    const store = await freshStore();
    await ctrOk(["pull", "-q", "alpine"], { store });
    await ctrOk(["network", "create", "idle-net"], { store });
    await ctrOk(["network", "create", "stopped-net"], { store });
    await ctrOk(["network", "create", "busy-net"], { store });
    await ctrOk(["run", "-d", "--name", "busy", "--network", "busy-net", "alpine", "sleep", "600"], { store });
    await ctrOk(["create", "--name", "stopped", "--network", "stopped-net", "alpine", "true"], { store });

    const warning = await ctr(["system", "prune"], { store, stdin: "n\n" });
    expect(warning.stderr).toContain("\t- all networks not used by at least one container\n");
    expect((await ctrOk(["network", "ls", "--format", "{{.Name}}"], { store })).stdout).toBe("busy-net\nidle-net\npodman\nstopped-net\n");

    // The stopped container goes first, so its network is unused by then, as in podman.
    const r = await ctrOk(["system", "prune", "-f"], { store });
    expect(r.stdout).toContain("Deleted Containers\n");
    expect(r.stdout).toMatch(/Deleted Networks\n(idle-net\nstopped-net|stopped-net\nidle-net)\n/);
    expect(r.stdout.indexOf("Deleted Networks")).toBeGreaterThan(r.stdout.indexOf("Deleted Containers"));
    expect((await ctrOk(["network", "ls", "--format", "{{.Name}}"], { store })).stdout).toBe("busy-net\npodman\n");
    await ctrOk(["exec", "busy", "true"], { store });

    // Nothing left to prune: no section at all.
    const again = await ctrOk(["system", "prune", "-f"], { store });
    expect(again.stdout).not.toContain("Deleted Networks");
  });
});

describe("system reset", () => {
  test("asks, then removes every container, image, volume and network; the empty store works again", async () => {
    const store = await freshStore();
    await ctrOk(["pull", "-q", "alpine"], { store });
    await ctrOk(["run", "-d", "--name", "bg", "-v", "kept:/v", "alpine", "sleep", "600"], { store });
    const pid = Number((await ctrOk(["inspect", "--format", "{{.State.Pid}}", "bg"], { store })).stdout.trim());
    expect(pid).toBeGreaterThan(0);
    // A user-defined network with a container on it: its holder processes must end too.
    await ctrOk(["network", "create", "resetnet"], { store });
    await ctrOk(["run", "-d", "--name", "onnet", "--network", "resetnet", "alpine", "sleep", "600"], { store });
    const netRun = join(store.runtimeDir, "ctr", "networks");
    const helpers = Bun.spawnSync(["find", netRun, "-name", "*.pid"]).stdout.toString().trim().split("\n").filter(Boolean).map((f) => Number(readFileSync(f, "utf8").trim()));
    expect(helpers.length).toBeGreaterThan(0);
    for (const h of helpers) expect(alive(h)).toBe(true);
    const snapshot = store.snapshot();

    const no = await ctr(["system", "reset"], { store, stdin: "n\n" });
    expect(no.code).toBe(0);
    expect(no.stderr).toContain("[y/N]");
    expect(store.snapshot()).toEqual(snapshot);
    expect(alive(pid)).toBe(true);

    await ctrOk(["system", "reset", "-f"], { store });
    expect(existsSync(store.dataDir)).toBe(false);
    expect(existsSync(join(store.runtimeDir, "ctr"))).toBe(false);
    // The containers' and the network's processes end.
    for (const p of [pid, ...helpers]) {
      for (let i = 0; i < 100 && alive(p); i++) await Bun.sleep(100);
      expect(alive(p)).toBe(false);
    }

    expect((await ctrOk(["images", "-q"], { store })).stdout).toBe("");
    expect((await ctrOk(["volume", "ls", "-q"], { store })).stdout).toBe("");
    expect((await ctrOk(["network", "ls", "--format", "{{.Name}}"], { store })).stdout).not.toContain("resetnet");
    expect((await ctrOk(["run", "--rm", "alpine", "echo", "fresh"], { store })).stdout).toBe("fresh\n");
  });
});

describe("system check", () => {
  test("finds a blob corrupted on disk; --repair removes it and the image needing it, the other image still runs", async () => {
    const store = await freshStore();
    await ctrOk(["pull", "-q", "alpine"], { store });
    await ctrOk(["pull", "-q", LAYERED], { store });
    expect((await ctrOk(["system", "check"], { store })).stdout).toBe("");
    const layered = image(store, "ctrtest/layered");
    const m = JSON.parse(readFileSync(blobPath(store, layered.manifestDigest), "utf8"));
    const victim: string = m.layers[m.layers.length - 1].digest;
    // Flip one byte, as a disk would.
    const bytes = readFileSync(blobPath(store, victim));
    bytes[100] = bytes[100]! ^ 1;
    writeFileSync(blobPath(store, victim), bytes);

    const r = await ctr(["system", "check"], { store });
    expect(r.code).toBe(125);
    expect(r.stdout).toContain(`blob ${victim}: content does not match its digest\n`);
    expect(r.stdout).toMatch(new RegExp(`image .*ctrtest/layered:latest \\(${layered.id.slice(7, 19)}\\): layer blob ${victim} is damaged`));
    expect(r.stderr).toContain("--repair");
    expect(r.stdout.trim().split("\n")).toHaveLength(2);

    const fixed = await ctrOk(["system", "check", "--repair"], { store });
    expect(fixed.stdout).toContain(`removed blob ${victim}`);
    expect(existsSync(blobPath(store, victim))).toBe(false);
    expect(images(store).map((i) => i.id)).toEqual([image(store, "library/alpine").id]);
    // The sound layer the two images shared stays.
    expect(existsSync(layerPath(store, layered.layers[0]!))).toBe(true);
    expect((await ctrOk(["system", "check"], { store })).stdout).toBe("");
    expect((await ctrOk(["run", "--rm", "alpine", "echo", "sound"], { store })).stdout).toBe("sound\n");
    // The damaged image can be pulled again.
    await ctrOk(["pull", "-q", LAYERED], { store });
    expect((await ctrOk(["run", "--rm", LAYERED, "true"], { store })).code).toBe(0);
  });

  test("a container whose layer is gone is reported, and removed by --repair only with --force", async () => {
    const store = await freshStore();
    await ctrOk(["pull", "-q", "alpine"], { store });
    await ctrOk(["pull", "-q", LAYERED], { store });
    await ctrOk(["create", "--name", "broken", LAYERED, "true"], { store });
    await ctrOk(["create", "--name", "fine", "alpine", "true"], { store });
    const layered = image(store, "ctrtest/layered");
    const top = layered.layers[layered.layers.length - 1]!;
    // A layer directory lost (only the layered image and its container need it).
    Bun.spawnSync(["unshare", "--user", "--map-root-user", "--map-auto", "rm", "-rf", layerPath(store, top)]);
    expect(existsSync(layerPath(store, top))).toBe(false);

    const r = await ctr(["system", "check", "--quick"], { store });
    expect(r.code).toBe(125);
    expect(r.stdout).toMatch(new RegExp(`container broken \\([0-9a-f]{12}\\): layer ${top} is missing`));
    expect(r.stdout).toMatch(new RegExp(`image .*layered:latest .*: layer ${top} is missing`));
    expect(r.stdout).not.toContain("fine");

    const noForce = await ctr(["system", "check", "--repair"], { store });
    expect(noForce.code).toBe(125);
    expect(noForce.stderr).toContain("--force");
    expect(noForce.stdout).toContain("removed image");
    expect((await ctrOk(["ps", "-a", "--format", "{{.Names}}"], { store })).stdout.split("\n").filter(Boolean).sort()).toEqual(["broken", "fine"]);

    const forced = await ctrOk(["system", "check", "--repair", "--force"], { store });
    expect(forced.stdout).toContain("removed container broken");
    expect((await ctrOk(["ps", "-a", "--format", "{{.Names}}"], { store })).stdout).toBe("fine\n");
    expect((await ctrOk(["system", "check"], { store })).stdout).toBe("");
    expect((await ctrOk(["start", "-a", "fine"], { store })).code).toBe(0);
  });
});

/**
 * Volumes, bind mounts and tmpfs, end to end as the unprivileged user:
 * data kept across containers, read-only mounts, ownership of files in bind
 * mounts (default and `--userns=keep-id`), an image `VOLUME` filled from the
 * image, `volume rm`/`prune` refusing what is in use, and `rm -v`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, statSync, writeFileSync, readFileSync, existsSync, readdirSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { TarWriter } from "../src/image/archive/tar-writer.ts";
import { ctr, ctrOk, newStore, REGISTRY, type TestStore } from "./helpers.ts";
import { sha256, putBlob, putManifest } from "./registry-push.ts";

const enc = new TextEncoder();
// One repository for every run (a tag per run): the registry's catalog pages at 100 repositories.
const REPO = "ctrtest/volumes";
const TAG = `prefilled-${process.pid}`;
const VOLUME_IMAGE = `${REGISTRY}/${REPO}:${TAG}`;
/** The same image with `USER 1000` and a second `VOLUME /state` it has no directory for. */
const USER_TAG = `${TAG}-user`;
const USER_IMAGE = `${REGISTRY}/${REPO}:${USER_TAG}`;

async function getBlob(repo: string, digest: string): Promise<Uint8Array<ArrayBuffer>> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/blobs/${digest}`);
  if (res.status !== 200) throw new Error(`blob get ${digest}: ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Pushes alpine plus one layer holding `/data/seed.txt`, `/data/sub/deep.txt`
 * and `/data/owned/file` (owned by uid 1000),
 * with `VOLUME /data` in its config, as a Dockerfile `VOLUME` would make it.
 */
async function pushVolumeImage(): Promise<void> {
  const accept = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json";
  const base = (await (await fetch(`http://${REGISTRY}/v2/library/alpine/manifests/latest`, { headers: { Accept: accept } })).json()) as {
    config: { digest: string };
    layers: { mediaType: string; digest: string; size: number }[];
  };
  const config = JSON.parse(new TextDecoder().decode(await getBlob("library/alpine", base.config.digest)));
  const chunks: Uint8Array[] = [];
  const w = new TarWriter((c) => void chunks.push(c.slice()));
  await w.addDir("data");
  await w.addFile("data/seed.txt", enc.encode("from the image\n"));
  await w.addDir("data/sub");
  await w.addFile("data/sub/deep.txt", enc.encode("deep\n"));
  // Owned by a non-root user of the image: the volume's copy must keep the owner.
  await w.addEntry({ name: "data/owned", type: "dir", mode: 0o755, uid: 1000, gid: 1000 });
  const owned = enc.encode("mine\n");
  await w.addEntry({ name: "data/owned/file", type: "file", mode: 0o644, uid: 1000, gid: 1000, size: owned.length }, owned);
  await w.finish();
  const tar = new Uint8Array(Buffer.concat(chunks));
  const gz = Bun.gzipSync(tar);
  const layers = [];
  for (const l of base.layers) {
    await putBlob(REPO, await getBlob("library/alpine", l.digest));
    layers.push({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: l.digest, size: l.size });
  }
  layers.push({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: await putBlob(REPO, gz), size: gz.length });
  config.rootfs.diff_ids.push(sha256(tar));
  config.config = { ...config.config, Volumes: { "/data": {} } };
  const configBytes = enc.encode(JSON.stringify(config));
  const configDigest = await putBlob(REPO, configBytes);
  const manifest = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: configBytes.length },
    layers,
  }));
  await putManifest(REPO, TAG, manifest);
  const userConfig = enc.encode(JSON.stringify({ ...config, config: { ...config.config, User: "1000", Volumes: { "/data": {}, "/state": {} } } }));
  const userManifest = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: await putBlob(REPO, userConfig), size: userConfig.length },
    layers,
  }));
  await putManifest(REPO, USER_TAG, userManifest);
}

let store: TestStore;

beforeAll(async () => {
  store = await newStore();
  await ctrOk(["pull", "-q", "alpine"], { store });
  await pushVolumeImage();
});

afterAll(async () => {
  await store.cleanup();
  // The registry is shared: take this run's manifests out again.
  for (const tag of [TAG, USER_TAG]) {
    const head = await fetch(`http://${REGISTRY}/v2/${REPO}/manifests/${tag}`, { method: "HEAD", headers: { Accept: "application/vnd.oci.image.manifest.v1+json" } });
    const digest = head.headers.get("docker-content-digest");
    if (digest) await fetch(`http://${REGISTRY}/v2/${REPO}/manifests/${digest}`, { method: "DELETE" });
  }
});

const volumeNames = async () => (await ctrOk(["volume", "ls", "-q"], { store })).stdout.split("\n").filter(Boolean);

describe("named volumes", () => {
  test("data written in one container is read in the next", async () => {
    await ctrOk(["run", "--rm", "-v", "keep:/data", "alpine", "sh", "-c", "echo kept > /data/f"], { store });
    const r = await ctrOk(["run", "--rm", "-v", "keep:/data", "alpine", "cat", "/data/f"], { store });
    expect(r.stdout).toBe("kept\n");
    expect(await volumeNames()).toContain("keep");
  });

  test("a :ro mount refuses writes and a readonly --mount too", async () => {
    await ctrOk(["volume", "create", "rovol"], { store });
    const r = await ctr(["run", "--rm", "-v", "rovol:/data:ro", "alpine", "sh", "-c", "echo x > /data/f"], { store });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Read-only file system");
    const m = await ctr(["run", "--rm", "--mount", "type=volume,source=rovol,target=/data,readonly", "alpine", "touch", "/data/g"], { store });
    expect(m.code).not.toBe(0);
    expect(m.stderr).toContain("Read-only file system");
    await ctrOk(["run", "--rm", "-v", "rovol:/data", "alpine", "touch", "/data/g"], { store });
  });

  test("volume create, ls with filters and formats, inspect", async () => {
    expect((await ctrOk(["volume", "create", "--label", "team=a", "labelled"], { store })).stdout).toBe("labelled\n");
    const dup = await ctr(["volume", "create", "labelled"], { store });
    expect(dup.code).toBe(125);
    expect((await ctrOk(["volume", "ls", "-q", "--filter", "label=team=a"], { store })).stdout).toBe("labelled\n");
    expect((await ctrOk(["volume", "ls", "--filter", "name=labell", "--format", "{{.Name}} {{.Driver}}"], { store })).stdout).toBe("labelled local\n");
    const table = (await ctrOk(["volume", "ls", "--filter", "name=labelled"], { store })).stdout.split("\n");
    expect(table[0]).toMatch(/^DRIVER\s+VOLUME NAME$/);
    expect(table[1]).toMatch(/^local\s+labelled$/);
    const inspected = JSON.parse((await ctrOk(["volume", "inspect", "labelled"], { store })).stdout);
    expect(inspected[0]).toMatchObject({ Name: "labelled", Driver: "local", Labels: { team: "a" }, Scope: "local" });
    expect(existsSync(inspected[0].Mountpoint)).toBe(true);
    expect((await ctrOk(["volume", "inspect", "--format", "{{.Name}}", "labelled"], { store })).stdout).toBe("labelled\n");
    expect((await ctr(["volume", "inspect", "nosuchvolume"], { store })).code).toBe(125);
  });

  test("volume rm refuses a volume a container uses; -f removes the container first", async () => {
    await ctrOk(["run", "--name", "user-of-busy", "-v", "busy:/data", "alpine", "true"], { store });
    const r = await ctr(["volume", "rm", "busy"], { store });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("volume busy is being used");
    expect(await volumeNames()).toContain("busy");
    const pruned = await ctrOk(["volume", "prune", "-f"], { store });
    expect(pruned.stdout).not.toContain("busy");
    expect(await volumeNames()).toContain("busy");
    await ctrOk(["volume", "rm", "-f", "busy"], { store });
    expect(await volumeNames()).not.toContain("busy");
    expect((await ctr(["inspect", "user-of-busy"], { store })).code).not.toBe(0);
  });

  test("volume create -o o=bind,device=DIR uses that directory, and volume rm leaves its files", async () => {
    const dir = join(store.root, "bind-backed");
    mkdirSync(dir);
    await ctrOk(["volume", "create", "-o", "type=none", "-o", "o=bind", "-o", `device=${dir}`, "bindvol"], { store });
    expect((await ctrOk(["volume", "inspect", "--format", "{{.Mountpoint}}", "bindvol"], { store })).stdout).toBe(`${dir}\n`);
    await ctrOk(["run", "--rm", "-v", "bindvol:/x", "alpine", "sh", "-c", "echo b > /x/f"], { store });
    expect(readFileSync(join(dir, "f"), "utf8")).toBe("b\n");
    await ctrOk(["volume", "rm", "bindvol"], { store });
    expect(readFileSync(join(dir, "f"), "utf8")).toBe("b\n");
    const bad = await ctr(["volume", "create", "-o", "o=bind", "nodevice"], { store });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("needs device=");
  });

  test("volume prune asks first, as podman does; no answer removes nothing", async () => {
    await ctrOk(["volume", "create", "ask-me"], { store });
    const no = await ctr(["volume", "prune", "--filter", "name=ask-me"], { store });
    expect(no.code).toBe(0);
    expect(no.stderr).toContain("The following volumes will be removed:\nask-me\nAre you sure you want to continue? [y/N]");
    expect(no.stdout).toBe("");
    expect(await volumeNames()).toContain("ask-me");
    const yes = await ctrOk(["volume", "prune", "--filter", "name=ask-me"], { store, stdin: "y\n" });
    expect(yes.stdout).toBe("ask-me\n");
    expect(await volumeNames()).not.toContain("ask-me");
  });

  test("volume create -o type=tmpfs mounts a tmpfs", async () => {
    await ctrOk(["volume", "create", "-o", "type=tmpfs", "-o", "o=size=1m", "tmp1"], { store });
    const r = await ctrOk(["run", "--rm", "-v", "tmp1:/t", "alpine", "sh", "-c", "grep ' /t ' /proc/mounts"], { store });
    expect(r.stdout).toMatch(/^tmpfs \/t tmpfs .*size=1024k/);
  });
});

describe("faults", () => {
  test("a container killed with SIGKILL mid-write leaves the volume's other files intact", async () => {
    // Files written and closed before.
    await ctrOk(["run", "--rm", "-v", "crashvol:/v", "alpine", "sh", "-c", "for i in $(seq 1 40); do head -c 3000 /dev/urandom > /v/keep-$i; done; cd /v && md5sum keep-* > /v/sums"], { store });
    await ctrOk(["run", "-d", "--name", "crasher", "-v", "crashvol:/v", "alpine", "sh", "-c", "i=0; while true; do i=$((i+1)); head -c 65536 /dev/urandom > /v/churn-$i; done"], { store });
    const dir = (await ctrOk(["volume", "inspect", "--format", "{{.Mountpoint}}", "crashvol"], { store })).stdout.trim();
    // Writing is under way once a few files exist.
    for (let i = 0; i < 200 && readdirSync(dir).filter((n) => n.startsWith("churn-")).length < 5; i++) await Bun.sleep(50);
    expect(readdirSync(dir).filter((n) => n.startsWith("churn-")).length).toBeGreaterThanOrEqual(5);
    await ctrOk(["kill", "--signal", "KILL", "crasher"], { store });
    const code = await ctrOk(["wait", "crasher"], { store });
    expect(code.stdout.trim()).toBe("137");
    const check = await ctr(["run", "--rm", "-v", "crashvol:/v", "alpine", "sh", "-c", "cd /v && md5sum -c sums >/dev/null && echo intact"], { store });
    expect(check.stdout).toBe("intact\n");
    await ctrOk(["rm", "crasher"], { store });
    // A named volume outlives its containers; prune takes it only once none uses it.
    expect(await volumeNames()).toContain("crashvol");
  });
});

describe("bad mount input is refused with nothing created", () => {
  const cases: [string[], string][] = [
    [["-v", "data:relative"], 'container path "relative" is not absolute'],
    [["-v", "/tmp:/proc"], 'cannot mount over "/proc"'],
    [["-v", "a/b:/x"], 'volume name "a/b" must not contain "/"'],
    [["--mount", "type=bind,source=/nonexistent-ctr-source,target=/x"], "bind source path does not exist: /nonexistent-ctr-source"],
    [["--mount", "type=bind,target=/x"], "type=bind needs source="],
    [["--tmpfs", "rel"], 'container path "rel" is not absolute'],
    [["--mount", "type=bind,source=/tmp,target=/proc/sys"], 'cannot mount over "/proc/sys"'],
    [["--mount", "type=volume,source=a/b,target=/x"], 'volume name "a/b" must not contain "/"'],
    [["--mount", "type=bind,source=/tmp,target=rel"], 'container path "rel" is not absolute'],
    [["--userns", "nope"], 'unsupported --userns "nope"'],
  ];
  for (const [flags, message] of cases) {
    test(`${flags.join(" ")}`, async () => {
      const before = store.snapshot();
      const r = await ctr(["run", "--rm", ...flags, "alpine", "true"], { store });
      expect(r.code).toBe(125);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(message);
      expect(store.snapshot()).toEqual(before);
    });
  }

  test("volume create with a / in the name", async () => {
    const r = await ctr(["volume", "create", "a/b"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('invalid volume name "a/b"');
  });
});

describe("bind mounts and ownership", () => {
  test("-v creates a missing host directory; files root writes there belong to the host user", async () => {
    const dir = join(store.root, "bind-new", "sub");
    await ctrOk(["run", "--rm", "-v", `${dir}:/p`, "alpine", "sh", "-c", "id -u > /p/by-root"], { store });
    expect(readFileSync(join(dir, "by-root"), "utf8")).toBe("0\n");
    expect(statSync(join(dir, "by-root")).uid).toBe(process.getuid!());
    writeFileSync(join(dir, "by-host"), "h");
    const r = await ctrOk(["run", "--rm", "-v", `${dir}:/p:ro`, "alpine", "stat", "-c", "%u", "/p/by-host"], { store });
    expect(r.stdout).toBe("0\n");
  });

  test("--userns=keep-id runs as the user's own uid and edits are visible both ways with the right owner", async () => {
    const dir = join(store.root, "project");
    mkdirSync(dir);
    writeFileSync(join(dir, "from-host"), "host\n");
    const uid = process.getuid!();
    const gid = process.getgid!();
    const script = "id -u; id -g; stat -c %u /p/from-host; cat /p/from-host; echo inside > /p/from-container; echo more >> /p/from-host";
    const r = await ctrOk(["run", "--rm", "--userns=keep-id", "-v", `${dir}:/p`, "alpine", "sh", "-c", script], { store });
    expect(r.stdout).toBe(`${uid}\n${gid}\n${uid}\nhost\n`);
    expect(statSync(join(dir, "from-container")).uid).toBe(uid);
    expect(statSync(join(dir, "from-container")).gid).toBe(gid);
    expect(readFileSync(join(dir, "from-host"), "utf8")).toBe("host\nmore\n");
  });

  test("--userns=keep-id gives the user a passwd and group entry as podman does, names shown for owners", async () => {
    const dir = join(store.root, "project-names");
    mkdirSync(dir);
    writeFileSync(join(dir, "mine"), "x");
    const { username } = userInfo();
    const uid = process.getuid!();
    const gid = process.getgid!();
    const group = readFileSync("/etc/group", "utf8").split("\n").find((l) => l.split(":")[2] === String(gid))!.split(":")[0];
    const script = `grep "^${username}:" /etc/passwd; grep ":${gid}:" /etc/group; whoami; stat -c '%U:%G' /p/mine; echo "$HOME"`;
    const r = await ctrOk(["run", "--rm", "--userns=keep-id", "-v", `${dir}:/p`, "-w", "/p", "alpine", "sh", "-c", script], { store });
    const [pw, gr, who, owner, home] = r.stdout.trim().split("\n");
    expect(pw).toMatch(new RegExp(`^${username}:\\*:${uid}:${gid}:[^:]*:/p:/bin/sh$`));
    expect(gr).toBe(`${group}:x:${gid}:${username}`);
    expect(who).toBe(username);
    expect(owner).toBe(`${username}:${group}`);
    expect(home).toBe("/p");
    // The image's own entries are still there, and root is still root.
    expect((await ctrOk(["run", "--rm", "--userns=keep-id", "alpine", "grep", "-c", "^root:x:0:0:", "/etc/passwd"], { store })).stdout).toBe("1\n");
    // Without keep-id the image's files are left as they are.
    expect((await ctr(["run", "--rm", "alpine", "grep", `^${username}:`, "/etc/passwd"], { store })).code).toBe(1);
  });

  test("inspect shows each mount in docker's shape", async () => {
    const dir = join(store.root, "inspect-bind");
    mkdirSync(dir);
    await ctrOk(["create", "--name", "mounts-shown", "-v", `${dir}:/b:ro`, "-v", "shown:/n", "--tmpfs", "/t", "alpine", "true"], { store });
    const mounts = JSON.parse((await ctrOk(["inspect", "--format", "{{json .Mounts}}", "mounts-shown"], { store })).stdout);
    const mountpoint = (await ctrOk(["volume", "inspect", "--format", "{{.Mountpoint}}", "shown"], { store })).stdout.trim();
    expect(mounts).toEqual([
      { Type: "bind", Source: dir, Destination: "/b", Driver: "", Mode: "", Options: ["rbind"], RW: false, Propagation: "rprivate" },
      { Type: "volume", Name: "shown", Source: mountpoint, Destination: "/n", Driver: "local", Mode: "", Options: ["nosuid", "nodev", "rbind"], RW: true, Propagation: "rprivate" },
      { Type: "tmpfs", Source: "tmpfs", Destination: "/t", Driver: "", Mode: "", Options: ["nosuid", "nodev"], RW: true, Propagation: "" },
    ]);
    await ctrOk(["rm", "mounts-shown"], { store });
  });

  test("--tmpfs and --mount type=tmpfs give a tmpfs of the asked size", async () => {
    const r = await ctrOk(["run", "--rm", "--tmpfs", "/t1:size=1m", "--mount", "type=tmpfs,target=/t2,tmpfs-size=2097152", "alpine", "grep", " /t[12] ", "/proc/mounts"], { store });
    expect(r.stdout).toContain("tmpfs /t1 tmpfs");
    expect(r.stdout).toMatch(/\/t1 tmpfs \S*size=1024k/);
    expect(r.stdout).toMatch(/\/t2 tmpfs \S*size=2048k/);
  });
});

describe("anonymous volumes", () => {
  test("an image VOLUME gets an anonymous volume filled from the image, kept across restarts", async () => {
    const name = "prefill";
    await ctrOk(["run", "--name", name, VOLUME_IMAGE, "sh", "-c", "cat /data/seed.txt /data/sub/deep.txt; echo added > /data/new"], { store }).then((r) =>
      expect(r.stdout).toBe("from the image\ndeep\n"),
    );
    const mounts = JSON.parse((await ctrOk(["inspect", "--format", "{{json .Mounts}}", name], { store })).stdout);
    const vol = mounts.find((m: { Destination: string }) => m.Destination === "/data");
    expect(vol).toMatchObject({ Type: "volume", Driver: "local", RW: true });
    expect(vol.Name).toMatch(/^[0-9a-f]{64}$/);
    expect(await volumeNames()).toContain(vol.Name);
    const r = await ctrOk(["start", "-a", name], { store });
    expect(r.stdout).toContain("from the image");
    await ctrOk(["rm", "-v", name], { store });
  });

  test("the volume's copy keeps the image's owners, so the image's non-root user can write", async () => {
    const r = await ctrOk(["run", "--rm", "-u", "1000:1000", VOLUME_IMAGE, "sh", "-c", "stat -c '%u:%g' /data/owned /data/owned/file; echo more >> /data/owned/file && cat /data/owned/file"], { store });
    expect(r.stdout).toBe("1000:1000\n1000:1000\nmine\nmore\n");
    const root = await ctrOk(["run", "--rm", VOLUME_IMAGE, "stat", "-c", "%u", "/data/seed.txt"], { store });
    expect(root.stdout).toBe("0\n");
  });

  test("an image with USER 1000 can write its VOLUMEs and a named volume over its own directory", async () => {
    const r = await ctrOk(["run", "--rm", USER_IMAGE, "sh", "-c", "id -u; stat -c '%u:%g' /state; touch /state/new && echo more >> /data/owned/file && echo ok"], { store });
    expect(r.stdout).toBe("1000\n1000:1000\nok\n");
    const named = await ctrOk(["run", "--rm", "-v", "for-user:/data/owned", USER_IMAGE, "sh", "-c", "stat -c '%u:%g' /data/owned; cat /data/owned/file; touch /data/owned/new && echo ok"], { store });
    expect(named.stdout).toBe("1000:1000\nmine\nok\n");
  });

  test("a fresh volume the image has nothing for belongs to the container's non-root user", async () => {
    const r = await ctrOk(["run", "--rm", "-u", "1000:1000", "-v", "fresh-for-user:/work", "alpine", "sh", "-c", "stat -c '%u:%g' /work; touch /work/f && echo ok"], { store });
    expect(r.stdout).toBe("1000:1000\nok\n");
  });

  test("a named volume over an image VOLUME is filled on first use only", async () => {
    const r = await ctrOk(["run", "--rm", "-v", "seeded:/data", VOLUME_IMAGE, "sh", "-c", "cat /data/seed.txt; rm /data/seed.txt"], { store });
    expect(r.stdout).toBe("from the image\n");
    const again = await ctr(["run", "--rm", "-v", "seeded:/data", VOLUME_IMAGE, "ls", "/data"], { store });
    expect(again.stdout).toBe("owned\nsub\n");
  });

  test("rm -v removes only that container's anonymous volumes", async () => {
    const before = new Set(await volumeNames());
    await ctrOk(["run", "--name", "anon-a", "-v", "/anon", "-v", "named-kept:/named", "alpine", "touch", "/anon/f"], { store });
    await ctrOk(["run", "--name", "anon-b", "-v", "/anon", "alpine", "true"], { store });
    const added = (await volumeNames()).filter((n) => !before.has(n));
    const anonymous = added.filter((n) => n !== "named-kept");
    expect(anonymous).toHaveLength(2);
    expect(added).toContain("named-kept");
    await ctrOk(["rm", "-v", "anon-a"], { store });
    const after = await volumeNames();
    expect(after).toContain("named-kept");
    expect(after.filter((n) => anonymous.includes(n))).toHaveLength(1);
    await ctrOk(["rm", "anon-b"], { store });
    // Without -v the anonymous volume stays, now unused: prune takes it.
    const left = after.filter((n) => anonymous.includes(n))[0]!;
    expect(await volumeNames()).toContain(left);
    await ctrOk(["volume", "prune", "-f"], { store });
    expect(await volumeNames()).not.toContain(left);
  });

  test("--volumes-from mounts another container's volumes and binds; :ro makes them read-only", async () => {
    const dir = join(store.root, "shared-bind");
    mkdirSync(dir);
    await ctrOk(["run", "--name", "source-ctr", "-v", "/anon-src", "-v", `${dir}:/b`, "--tmpfs", "/t", "alpine", "sh", "-c", "echo a > /anon-src/f; echo b > /b/f"], { store });
    const r = await ctrOk(["run", "--rm", "--volumes-from", "source-ctr", "alpine", "sh", "-c", "cat /anon-src/f /b/f; grep -c ' /t ' /proc/mounts || true"], { store });
    expect(r.stdout).toBe("a\nb\n0\n");
    const ro = await ctr(["run", "--rm", "--volumes-from", "source-ctr:ro", "alpine", "touch", "/anon-src/g"], { store });
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toContain("Read-only file system");
    // The source's anonymous volume is shared, not the reader's: rm -v of a reader leaves it.
    await ctrOk(["run", "--name", "reader", "--volumes-from", "source-ctr", "alpine", "true"], { store });
    const before = await volumeNames();
    await ctrOk(["rm", "-v", "reader"], { store });
    expect(await volumeNames()).toEqual(before);
    const missing = await ctr(["run", "--rm", "--volumes-from", "no-such-ctr", "alpine", "true"], { store });
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain("no such container: no-such-ctr");
    await ctrOk(["rm", "-v", "source-ctr"], { store });
  });

  test("a create that fails on a taken name leaves no anonymous volume behind", async () => {
    await ctrOk(["create", "--name", "taken-name", "alpine", "true"], { store });
    const before = await volumeNames();
    const r = await ctr(["create", "--name", "taken-name", "-v", "/anon", "alpine", "true"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("already in use");
    expect(await volumeNames()).toEqual(before);
    await ctrOk(["rm", "taken-name"], { store });
  });

  test("run --rm removes the container's anonymous volume", async () => {
    const before = await volumeNames();
    await ctrOk(["run", "--rm", "-v", "/scratch", "alpine", "true"], { store });
    // --rm runs in the monitor after the container exits: wait for it.
    let after = await volumeNames();
    for (let i = 0; i < 50 && after.length !== before.length; i++) {
      await Bun.sleep(100);
      after = await volumeNames();
    }
    expect(after.sort()).toEqual(before.sort());
  });
});

/**
 * The filesystem verbs of a container: diff, commit, export, import and
 * cp, as the unprivileged test user against the real store and kernel.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ctr, ctrOk, newStore, type TestStore } from "./helpers.ts";

let store: TestStore;

beforeAll(async () => {
  store = await newStore();
  await ctrOk(["pull", "alpine"], { store });
  // A stopped container with an added file, a deleted one, a new directory,
  // a file of a non-root user only that user may read, and a deleted directory.
  await ctrOk(["run", "--name", "changed", "alpine", "sh", "-c", "echo hi > /etc/newfile; rm /etc/passwd; mkdir -p /tmp/d; echo x > /tmp/d/f; echo secret > /tmp/own; chown 1000:1000 /tmp/own; chmod 600 /tmp/own; echo pub > /tmp/pub; chown 1000:1001 /tmp/pub; rm -rf /usr/sbin"], { store });
});

afterAll(async () => {
  await ctr(["rm", "-f", "-a"], { store });
  await store.cleanup();
});

describe("diff", () => {
  test("diff lists added, changed and deleted paths sorted, without ctr's mount points", async () => {
    const r = await ctrOk(["diff", "changed"], { store });
    const lines = r.stdout.trim().split("\n");
    expect(lines).toContain("A /etc/newfile");
    expect(lines).toContain("D /etc/passwd");
    expect(lines).toContain("C /etc");
    expect(lines).toContain("A /tmp/d/f");
    expect(lines).toContain("A /tmp/own");
    expect(lines).toContain("D /usr/sbin");
    expect(lines).not.toContain("A /etc/hosts");
    const paths = lines.map((l) => l.slice(2));
    expect(paths).toEqual([...paths].sort());
  });

  test("container diff of an unknown container fails with 125", async () => {
    const r = await ctr(["container", "diff", "no-such-container"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("no such container: no-such-container");
  });
});

describe("commit", () => {
  test("run of the committed image sees the container's changes and the new CMD", async () => {
    const c = await ctrOk(["commit", "-c", 'CMD ["cat","/etc/newfile"]', "-c", "ENV COMMITTED=yes", "-m", "my message", "--author", "Tester", "changed", "committed"], { store });
    expect(c.stdout.trim()).toMatch(/^[a-f0-9]{64}$/);
    expect(await ctrOk(["run", "--rm", "committed"], { store })).toMatchObject({ stdout: "hi\n" });
    const r = await ctr(["run", "--rm", "committed", "sh", "-c", "test -e /etc/passwd && echo passwd; test -e /usr/sbin && echo sbin; cat /tmp/own /tmp/d/f; echo $COMMITTED; stat -c '%u:%g %a' /tmp/own"], { store });
    expect(r).toMatchObject({ code: 0, stdout: "secret\nx\nyes\n1000:1000 600\n" });
    const hist = await ctrOk(["history", "committed"], { store });
    expect(hist.stdout.split("\n")[1]).toContain("my message");
    const inspect = JSON.parse((await ctrOk(["image", "inspect", "committed"], { store })).stdout) as { Author?: string }[];
    expect(inspect[0]!.Author).toBe("Tester");
  });

  test("commit with an unknown change instruction fails naming it and stores no image", async () => {
    const before = await ctrOk(["images", "-q"], { store });
    const r = await ctr(["commit", "-c", "FROB x", "changed", "bad"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('invalid change "FROB x"');
    expect((await ctrOk(["images", "-q"], { store })).stdout).toBe(before.stdout);
  });
});

describe("export and import", () => {
  test("export | import round trip gives an image that runs with the container's files", async () => {
    const tarPath = join(store.root, "changed.tar");
    await ctrOk(["export", "-o", tarPath, "changed"], { store });
    const list = Bun.spawnSync(["tar", "-tvf", tarPath]).stdout.toString();
    expect(list).toContain("etc/newfile");
    expect(list).toMatch(/-rw------- 1000\/1000 .* tmp\/own/);
    expect(list).not.toContain("etc/passwd");
    expect(list).not.toContain("usr/sbin");
    const piped = Bun.spawnSync(["sh", "-c", `"$CTR" container export changed | "$CTR" import -c 'CMD ["cat","/tmp/own"]' -m imported - roundtrip`], {
      env: { ...process.env, ...store.env, CTR: process.env.CTR_BIN ?? "" },
    });
    expect(piped.exitCode).toBe(0);
    expect(piped.stdout.toString().trim()).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(await ctrOk(["run", "--rm", "roundtrip"], { store })).toMatchObject({ stdout: "secret\n" });
    const r = await ctrOk(["run", "--rm", "roundtrip", "sh", "-c", "cat /etc/newfile; test -e /etc/passwd || echo gone; stat -c '%u:%g' /tmp/own"], { store });
    expect(r.stdout).toBe("hi\ngone\n1000:1000\n");
  });

  test("image import of a gzipped tarball applies ENTRYPOINT and the message", async () => {
    const tarPath = join(store.root, "changed2.tar");
    await ctrOk(["export", "--output", tarPath, "changed"], { store });
    const gz = join(store.root, "changed2.tar.gz");
    writeFileSync(gz, Bun.gzipSync(readFileSync(tarPath)));
    await ctrOk(["image", "import", "-c", 'ENTRYPOINT ["cat"]', "-c", 'CMD=["/etc/newfile"]', "-m", "from gzip", gz, "gz-imported"], { store });
    expect(await ctrOk(["run", "--rm", "gz-imported"], { store })).toMatchObject({ stdout: "hi\n" });
    expect((await ctrOk(["history", "gz-imported"], { store })).stdout).toContain("from gzip");
  });

  test("import of a file that is not there fails with 125", async () => {
    const r = await ctr(["import", join(store.root, "missing.tar")], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("missing.tar");
  });
});

describe("cp", () => {
  let src: string;
  beforeAll(() => {
    src = join(store.root, "src");
    mkdirSync(join(src, "sub"), { recursive: true });
    writeFileSync(join(src, "a.txt"), "one\n");
    writeFileSync(join(src, "sub", "b.txt"), "two\n");
    chmodSync(join(src, "sub", "b.txt"), 0o640);
    symlinkSync("a.txt", join(src, "link"));
    chmodSync(store.root, 0o755);
  });

  test("cp round trip with a stopped container keeps contents, modes and links", async () => {
    await ctrOk(["create", "--name", "cp-stopped", "alpine", "cat", "/srv/sub/b.txt"], { store });
    await ctrOk(["cp", src, "cp-stopped:/srv"], { store });
    await ctrOk(["cp", join(src, "a.txt"), "cp-stopped:/etc/renamed.txt"], { store });
    const diff = (await ctrOk(["diff", "cp-stopped"], { store })).stdout;
    expect(diff).toContain("A /srv/sub/b.txt");
    expect(diff).toContain("A /etc/renamed.txt");
    const back = join(store.root, "back");
    await ctrOk(["cp", "cp-stopped:/srv", back], { store });
    expect(readFileSync(join(back, "sub", "b.txt"), "utf8")).toBe("two\n");
    expect(lstatSync(join(back, "sub", "b.txt")).mode & 0o777).toBe(0o640);
    expect(readlinkSync(join(back, "link"))).toBe("a.txt");
    expect(await ctrOk(["start", "-a", "cp-stopped"], { store })).toMatchObject({ stdout: "two\n" });
  });

  test("cp with a stopped container follows the container's symlinks inside its root", async () => {
    await ctrOk(["run", "--name", "cp-links", "alpine", "sh", "-c", "ln -s /tmp /tmplink; ln -s ../../etc /tmp/up"], { store });
    const sub = join(store.root, "linked");
    mkdirSync(sub);
    writeFileSync(join(sub, "f"), "via link\n");
    await ctrOk(["cp", sub, "cp-links:/tmplink/"], { store });
    expect((await ctrOk(["diff", "cp-links"], { store })).stdout).toContain("A /tmp/linked/f");
    await ctrOk(["cp", "cp-links:/tmplink/linked/f", join(store.root, "f-back")], { store });
    expect(readFileSync(join(store.root, "f-back"), "utf8")).toBe("via link\n");
    // A relative link climbing above the root stays in the container: /tmp/up/../../etc is /etc.
    await ctrOk(["cp", "cp-links:/tmp/up/newfile-none", join(store.root, "x")], { store }).then(
      () => expect.unreachable(),
      (err: Error) => expect(err.message).toContain('could not find "/tmp/up/newfile-none"'),
    );
    await ctrOk(["cp", "cp-links:/tmp/up/group", join(store.root, "group-back")], { store });
    expect(readFileSync(join(store.root, "group-back"), "utf8")).toContain("root:");
  });

  test("cp out of a stopped container reads a file only its non-root owner may read", async () => {
    const out = join(store.root, "own-out");
    await ctrOk(["cp", "changed:/tmp/own", out], { store });
    expect(readFileSync(out, "utf8")).toBe("secret\n");
  });

  test("cp into a stopped container over a deleted directory makes it opaque", async () => {
    await ctrOk(["cp", src, "changed:/usr/sbin"], { store });
    const r = await ctrOk(["commit", "changed", "opaque-check"], { store });
    expect(r.code).toBe(0);
    const ls = await ctrOk(["run", "--rm", "opaque-check", "ls", "/usr/sbin"], { store });
    expect(ls.stdout.split("\n").filter(Boolean).sort()).toEqual(["a.txt", "link", "sub"]);
  });

  test("cp to a missing directory with a trailing slash fails", async () => {
    const r = await ctr(["cp", src, "changed:/nowhere/"], { store });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("/nowhere/");
  });

  test("cp both ways with a running container that has no tar, through its volumes and its own symlinks", async () => {
    const vol = join(store.root, "cp-vol");
    mkdirSync(vol);
    chmodSync(vol, 0o777);
    await ctrOk(["run", "-d", "--name", "no-tar", "-v", `${vol}:/data`, "alpine", "sh", "-c", "rm -f /bin/tar /usr/bin/tar /sbin/tar /usr/sbin/tar; ln -s /etc /tmp/abs; echo inside > /tmp/made; echo shm > /dev/shm/x; touch /ready; exec sleep 1000"], { store });
    for (const deadline = Date.now() + 20_000; (await ctr(["exec", "no-tar", "test", "-e", "/ready"], { store })).code !== 0; ) {
      if (Date.now() > deadline) throw new Error("the container never got ready");
      await Bun.sleep(100);
    }
    // Nothing named tar is left to run in it.
    expect((await ctr(["exec", "no-tar", "tar", "--help"], { store })).code).toBe(127);
    await ctrOk(["cp", src, "no-tar:/srv"], { store });
    await ctrOk(["cp", join(src, "a.txt"), "no-tar:/data/in-volume.txt"], { store });
    const r = await ctrOk(["exec", "no-tar", "sh", "-c", "cat /srv/sub/b.txt; stat -c '%u:%g %a' /srv/sub/b.txt; readlink /srv/link"], { store });
    expect(r.stdout).toBe("two\n0:0 640\na.txt\n");
    expect(readFileSync(join(vol, "in-volume.txt"), "utf8")).toBe("one\n");
    await ctrOk(["cp", "no-tar:/tmp/made", join(store.root, "made-no-tar")], { store });
    expect(readFileSync(join(store.root, "made-no-tar"), "utf8")).toBe("inside\n");
    // An absolute symlink inside the container leads to the container's /etc, not the host's.
    await ctrOk(["cp", "no-tar:/tmp/abs/hostname", join(store.root, "hostname-no-tar")], { store });
    const id = (await ctrOk(["inspect", "-f", "{{.Id}}", "no-tar"], { store })).stdout.trim();
    expect(readFileSync(join(store.root, "hostname-no-tar"), "utf8")).toBe(`${id.slice(0, 12)}\n`);
    // The whole root: its files and volumes, and the kernel's mounts (/proc, /sys, /dev) as empty directories.
    const whole = join(store.root, "whole-root");
    await ctrOk(["cp", "no-tar:/", whole], { store });
    expect(readFileSync(join(whole, "tmp", "made"), "utf8")).toBe("inside\n");
    expect(readFileSync(join(whole, "data", "in-volume.txt"), "utf8")).toBe("one\n");
    for (const d of ["proc", "sys", "dev"]) expect(readdirSync(join(whole, d))).toEqual([]);
    // ... unless asked for by name.
    await ctrOk(["cp", "no-tar:/dev", join(store.root, "dev-no-tar")], { store });
    expect(readFileSync(join(store.root, "dev-no-tar", "shm", "x"), "utf8")).toBe("shm\n");
    // A paused container's files are reachable too: nothing has to run in it.
    await ctrOk(["pause", "no-tar"], { store });
    await ctrOk(["cp", "no-tar:/srv/a.txt", join(store.root, "from-paused")], { store });
    await ctrOk(["unpause", "no-tar"], { store });
    expect(readFileSync(join(store.root, "from-paused"), "utf8")).toBe("one\n");
    await ctrOk(["rm", "-f", "no-tar"], { store });
  }, 60_000);

  test("cp both ways with a running container of a non-root user, -a keeping owners", async () => {
    await ctrOk(["run", "-d", "--user", "1000", "--name", "cp-running", "alpine", "sleep", "60"], { store });
    await ctrOk(["cp", src, "cp-running:/srv"], { store });
    // -a out of a stopped container keeps uid 1000:1001 (a subordinate id on the host), without -a the user owns the copy.
    await ctrOk(["cp", "-a", "changed:/tmp/pub", join(store.root, "pub-a")], { store });
    await ctrOk(["cp", "changed:/tmp/pub", join(store.root, "pub-plain")], { store });
    expect(lstatSync(join(store.root, "pub-a")).uid).not.toBe(process.getuid!());
    expect(lstatSync(join(store.root, "pub-plain")).uid).toBe(process.getuid!());
    // ... and -a into a running container gives it back its owner, without -a root owns it.
    await ctrOk(["cp", "-a", join(store.root, "pub-a"), "cp-running:/kept"], { store });
    await ctrOk(["cp", join(store.root, "pub-a"), "cp-running:/not-kept"], { store });
    const r = await ctrOk(["exec", "-u", "0", "cp-running", "sh", "-c", "cat /srv/sub/b.txt /kept; stat -c '%u:%g %a' /srv/sub/b.txt /kept /not-kept"], { store });
    expect(r.stdout).toBe("two\npub\n0:0 640\n1000:1001 644\n0:0 644\n");
    await ctrOk(["exec", "-u", "0", "cp-running", "sh", "-c", "mkdir /made && echo inner > /made/x && ln -s x /made/y"], { store });
    const out = join(store.root, "made-out");
    await ctrOk(["cp", "cp-running:/made", out], { store });
    expect(readFileSync(join(out, "x"), "utf8")).toBe("inner\n");
    expect(readlinkSync(join(out, "y"))).toBe("x");
    // -a out of a running container keeps owners too (a subordinate id on the host for uid 1000).
    await ctrOk(["exec", "-u", "0", "cp-running", "chown", "1000:1000", "/made/x"], { store });
    await ctrOk(["cp", "-a", "cp-running:/made", join(store.root, "made-a")], { store });
    expect(lstatSync(join(store.root, "made-a", "x")).uid).toBe(lstatSync(join(store.root, "pub-a")).uid);
    expect(readFileSync(join(store.root, "made-a", "x"), "utf8")).toBe("inner\n");
    const tar = await ctrOk(["cp", "cp-running:/made/x", "-"], { store });
    expect(tar.stdout).toContain("inner");
    expect(existsSync(join(out, "made"))).toBe(false);
  });
});

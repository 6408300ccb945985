/** `ctr info` reports this host as it is, checked against the host itself. */
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { ctr, newStore } from "./helpers.ts";

test("ctr info --format json describes this host", async () => {
  const store = await newStore();
  try {
    const r = await ctr(["info", "--format", "json"], { store });
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    const me = userInfo();
    expect(info.host.user).toBe(me.username);
    expect(info.host.uid).toBe(me.uid);

    // Every range the user has, in file order (the test user has two: see scripts/setup-host.sh).
    const ranges = readFileSync("/etc/subuid", "utf8")
      .split("\n")
      .filter((l) => l.startsWith(`${me.username}:`))
      .map((l) => l.split(":").map(Number))
      .map(([, start, count]) => `${start}-${start! + count! - 1}`);
    expect(ranges.length).toBeGreaterThan(0);
    expect(info.host.subuid).toEqual({ ok: true, detail: ranges.join(", ") });

    expect(info.host.newuidmap.ok).toBe(existsSync("/usr/bin/newuidmap"));
    expect(info.host.cgroupVersion).toBe(existsSync("/sys/fs/cgroup/cgroup.controllers") ? "v2" : "v1");
    // This kernel (6.x) mounts overlayfs in a user namespace; the probe must see it.
    expect(info.host.nativeOverlay.ok).toBe(true);
    expect(info.host.fuseOverlayfs.ok).toBe(existsSync("/usr/bin/fuse-overlayfs"));
    expect(info.store.dataDir).toBe(store.dataDir);
  } finally {
    await store.cleanup();
  }
});

test("ctr info names a missing piece with its fix", async () => {
  const store = await newStore();
  try {
    // An empty PATH hides nothing here (which() also looks in /usr/bin), so
    // check a fix line through a check that does fail on this host: cgroup delegation.
    const r = await ctr(["info"], { store });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("cgroupDelegation:");
    if (!existsSync("/sys/fs/cgroup/cgroup.controllers")) {
      expect(r.stdout).toMatch(/problems:\n(.*\n)*\s+- cgroupDelegation: cgroup v1: no delegation to unprivileged users; fix: /);
    }
  } finally {
    await store.cleanup();
  }
});

import { describe, expect, test } from "bun:test";
import { ALL_CAPABILITIES, buildSpec, capabilitySet, DEFAULT_CAPABILITIES, mergeEnv, parseUlimit, processArgs } from "./spec.ts";

describe("processArgs", () => {
  const image = { Entrypoint: ["/entry"], Cmd: ["default"] };
  test("combines entrypoint and cmd as docker does", () => {
    expect(processArgs(image, { args: [] })).toEqual(["/entry", "default"]);
    expect(processArgs(image, { args: ["x"] })).toEqual(["/entry", "x"]);
    expect(processArgs(image, { args: [], entrypoint: "/other" })).toEqual(["/other"]);
    expect(processArgs(image, { args: ["a"], entrypoint: "" })).toEqual(["a"]);
  });
  test("refuses an empty command", () => {
    expect(() => processArgs({}, { args: [] })).toThrow("no command specified");
  });
});

test("mergeEnv lets later lists override by key", () => {
  expect(mergeEnv(["PATH=/a", "X=1"], ["X=2", "Y=3"])).toEqual(["PATH=/a", "X=2", "Y=3"]);
});

test("buildSpec lists overlay lowers top-most first and maps devpts gid only when mapped", () => {
  const spec = buildSpec({
    image: { Cmd: ["sh"], Env: ["PATH=/bin"] },
    process: { args: [], env: ["FOO=bar"], tty: false },
    user: { uid: 0, gid: 0, additionalGids: [], home: "/root" },
    hostname: "abc",
    rootfs: { merged: "/m", lowerDirs: ["/l0", "/l1"], upperDir: "/u", workDir: "/w" },
    uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
  });
  expect(spec.annotations?.["run.ctr.rootfs.overlay.lowerdir"]).toBe("/l1:/l0");
  expect(spec.process.env).toEqual(["PATH=/bin", "HOSTNAME=abc", "HOME=/root", "FOO=bar"]);
  expect(spec.mounts?.find((m) => m.destination === "/dev/pts")?.options).not.toContain("gid=5");
});

describe("capabilitySet", () => {
  test("is docker's default set, plus adds, minus drops", () => {
    expect(capabilitySet({ capAdd: [], capDrop: [], privileged: false })).toEqual(DEFAULT_CAPABILITIES);
    const set = capabilitySet({ capAdd: ["sys_admin"], capDrop: ["CAP_NET_RAW"], privileged: false });
    expect(set).toContain("CAP_SYS_ADMIN");
    expect(set).not.toContain("CAP_NET_RAW");
    expect(capabilitySet({ capAdd: ["chown"], capDrop: ["ALL"], privileged: false })).toEqual(["CAP_CHOWN"]);
    expect(capabilitySet({ capAdd: [], capDrop: [], privileged: true })).toEqual(ALL_CAPABILITIES);
  });
  test("refuses an unknown name", () => {
    expect(() => capabilitySet({ capAdd: ["bogus"], capDrop: [], privileged: false })).toThrow('unknown capability "bogus"');
  });
});

test("parseUlimit reads NAME=SOFT[:HARD]", () => {
  expect(parseUlimit("nofile=1024:2048")).toEqual({ type: "RLIMIT_NOFILE", soft: 1024, hard: 2048 });
  expect(parseUlimit("nproc=10")).toEqual({ type: "RLIMIT_NPROC", soft: 10, hard: 10 });
  expect(() => parseUlimit("nofile=3:2")).toThrow("soft limit is above the hard limit");
  expect(() => parseUlimit("bogus=1")).toThrow('invalid --ulimit "bogus=1"');
});

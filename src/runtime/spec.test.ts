import { describe, expect, test } from "bun:test";
import { buildSpec, mergeEnv, processArgs } from "./spec.ts";

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

import { expect, test } from "bun:test";
import { hostUser, keepIdFiles, type HostUser } from "./keep-id-user.ts";

const me: HostUser = { name: "dev", uid: 1003, gid: 1004, fullName: "Dev Eloper", home: "/home/dev", groupName: "devs" };
const passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n";
const group = "root:x:0:root\nusers:x:100:\n";

test("keepIdFiles adds the user and the group as podman does, home the working directory", () => {
  const f = keepIdFiles(passwd, group, me, "/work", []);
  expect(f.passwd).toBe(`${passwd}dev:*:1003:1004:Dev Eloper:/work:/bin/sh\n`);
  expect(f.group).toBe(`${group}devs:x:1004:dev\n`);
  expect(f.home).toBe("/work");
});

test("keepIdFiles uses the user's home when it or a parent is mounted", () => {
  expect(keepIdFiles(passwd, group, me, "/", ["/home/dev"]).home).toBe("/home/dev");
  expect(keepIdFiles(passwd, group, me, "/", ["/home"]).home).toBe("/home/dev");
  expect(keepIdFiles(passwd, group, me, "/", ["/home/devil"]).home).toBe("/");
});

test("keepIdFiles leaves an image that has the uid, the name or the gid alone", () => {
  const has = keepIdFiles(`${passwd}app:x:1003:1003:app:/app:/bin/sh`, `${group}app:x:1004:\n`, me, "/", []);
  expect(has).toEqual({ home: "/app" });
  expect(keepIdFiles(`${passwd}dev:x:5:5::/d:/bin/sh\n`, group, me, "/", []).passwd).toBeUndefined();
});

test("keepIdFiles writes a passwd for an image without one", () => {
  expect(keepIdFiles(undefined, undefined, me, "/", [])).toEqual({ passwd: "dev:*:1003:1004:Dev Eloper:/:/bin/sh\n", group: "devs:x:1004:dev\n", home: "/" });
});

test("hostUser reads the host's entry for the uid and its primary group", () => {
  expect(hostUser(1003, 1004, "dev:x:1003:1004:Dev Eloper,,,:/home/dev:/bin/bash\n", "devs:x:1004:\n")).toEqual(me);
  expect(hostUser(7, 7, "dev:x:1003:1004::/home/dev:/bin/bash\n", "")).toBeUndefined();
});

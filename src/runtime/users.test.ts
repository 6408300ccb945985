import { expect, test } from "bun:test";
import { resolveUser } from "./users.ts";

const passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n";
const group = "root:x:0:\napp:x:1000:\nwheel:x:10:app\n";

test("resolveUser follows docker's rules", () => {
  expect(resolveUser(undefined, passwd, group)).toMatchObject({ uid: 0, gid: 0, home: "/root" });
  expect(resolveUser("app", passwd, group)).toEqual({ uid: 1000, gid: 1000, additionalGids: [10], home: "/home/app", name: "app" });
  expect(resolveUser("1000:10", passwd, group)).toMatchObject({ uid: 1000, gid: 10, additionalGids: [] });
  expect(resolveUser("4242", passwd, group)).toMatchObject({ uid: 4242, gid: 0, home: "/" });
  expect(() => resolveUser("nobody2", passwd, group)).toThrow("unable to find user nobody2");
  expect(() => resolveUser("app:nogroup", passwd, group)).toThrow("unable to find group nogroup");
});

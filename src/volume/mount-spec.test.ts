import { expect, test } from "bun:test";
import { parseMountFlag, parseMountFlags, parseTmpfsFlag, parseVolumeFlag } from "./mount-spec.ts";

test("parseVolumeFlag tells named volumes, host paths and anonymous volumes apart", () => {
  expect(parseVolumeFlag("data:/var/lib/x:ro")).toMatchObject({ type: "volume", source: "data", target: "/var/lib/x", readonly: true });
  expect(parseVolumeFlag("/srv/www:/usr/share/www/:rw,z")).toMatchObject({ type: "bind", source: "/srv/www", target: "/usr/share/www", readonly: false, createSource: true });
  const anon = parseVolumeFlag("/cache");
  expect(anon).toMatchObject({ type: "volume", target: "/cache" });
  expect(anon.source).toBeUndefined();
});

test("parseVolumeFlag refuses relative targets, /proc, names with / and unknown options", () => {
  expect(() => parseVolumeFlag("data:rel")).toThrow('container path "rel" is not absolute');
  expect(() => parseVolumeFlag("/x:/proc/sys")).toThrow('cannot mount over "/proc/sys"');
  expect(() => parseVolumeFlag("/x:/")).toThrow("root");
  expect(() => parseVolumeFlag("a/b:/x")).toThrow('volume name "a/b" must not contain "/"');
  expect(() => parseVolumeFlag("data:/x:bogus")).toThrow('unknown option "bogus"');
});

test("parseMountFlag reads docker's fields and requires a bind source", () => {
  expect(parseMountFlag("type=bind,src=/a,dst=/b,readonly")).toMatchObject({ type: "bind", source: "/a", target: "/b", readonly: true, createSource: false });
  expect(parseMountFlag("type=volume,source=v,target=/b,readonly=false")).toMatchObject({ type: "volume", source: "v", readonly: false });
  expect(parseMountFlag("type=tmpfs,target=/t,tmpfs-size=1m")).toMatchObject({ type: "tmpfs", tmpfsOptions: ["size=1m"] });
  expect(() => parseMountFlag("type=bind,target=/b")).toThrow("needs source=");
  expect(() => parseMountFlag("type=nfs,target=/b")).toThrow('unsupported type "nfs"');
  expect(() => parseMountFlag("type=volume,target=/b,colour=red")).toThrow('unknown field "colour"');
});

test("parseTmpfsFlag splits the path from the mount options", () => {
  expect(parseTmpfsFlag("/run:size=64m,mode=1777,ro")).toMatchObject({ target: "/run", readonly: true, tmpfsOptions: ["size=64m", "mode=1777"] });
});

test("parseMountFlags refuses the same container path twice", () => {
  expect(() => parseMountFlags({ volume: ["a:/x"], mount: [], tmpfs: ["/x"] })).toThrow('duplicate mount destination "/x"');
});

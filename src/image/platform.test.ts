import { expect, test } from "bun:test";
import { parsePlatform, selectManifest } from "./platform.ts";

const d = (architecture: string, variant?: string) => ({
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  digest: `sha256:${architecture}${variant ?? ""}`,
  size: 1,
  platform: { os: "linux", architecture, ...(variant ? { variant } : {}) },
});

test("selectManifest picks the platform and treats a missing arm64 variant as v8", () => {
  const list = [d("arm", "v7"), d("amd64"), d("arm64")];
  expect(selectManifest(list, parsePlatform("linux/amd64"))?.digest).toBe("sha256:amd64");
  expect(selectManifest(list, parsePlatform("linux/arm64/v8"))?.digest).toBe("sha256:arm64");
  expect(selectManifest(list, parsePlatform("linux/arm/v6"))).toBeUndefined();
  expect(selectManifest(list, parsePlatform("linux/s390x"))).toBeUndefined();
});

test("parsePlatform rejects nonsense with the input in the message", () => {
  expect(() => parsePlatform("linux//")).toThrow('invalid platform "linux//"');
});

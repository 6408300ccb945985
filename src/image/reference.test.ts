import { describe, expect, test } from "bun:test";
import { formatReference, normalize, parseReference } from "./reference.ts";

describe("parseReference", () => {
  test("splits a short name with tag", () => {
    expect(parseReference("alpine:3.20")).toEqual({ domain: undefined, path: "alpine", tag: "3.20", digest: undefined });
  });

  test("recognises a registry by dot, port or localhost", () => {
    expect(parseReference("quay.io/podman/hello").domain).toBe("quay.io");
    expect(parseReference("127.0.0.1:5055/library/alpine:latest")).toMatchObject({ domain: "127.0.0.1:5055", path: "library/alpine", tag: "latest" });
    expect(parseReference("localhost/app").domain).toBe("localhost");
    expect(parseReference("library/alpine").domain).toBeUndefined();
  });

  test("keeps a digest", () => {
    const d = "sha256:" + "a".repeat(64);
    expect(parseReference(`alpine@${d}`)).toMatchObject({ path: "alpine", digest: d, tag: undefined });
  });

  test("rejects what docker rejects with a message naming the input", () => {
    expect(() => parseReference("UPPER/Case")).toThrow('invalid reference "UPPER/Case": repository name must be lowercase');
    expect(() => parseReference("a:b:c")).toThrow('invalid reference "a:b:c"');
    expect(() => parseReference("")).toThrow("empty reference");
    expect(() => parseReference("alpine@sha256:abc")).toThrow("invalid digest");
    expect(() => parseReference("foo//bar")).toThrow("invalid repository name component");
  });
});

describe("normalize", () => {
  test("adds library/ and latest on docker.io only", () => {
    expect(formatReference(normalize({ domain: "docker.io", path: "alpine" }))).toBe("docker.io/library/alpine:latest");
    expect(formatReference(normalize({ domain: "quay.io", path: "alpine" }))).toBe("quay.io/alpine:latest");
  });
});

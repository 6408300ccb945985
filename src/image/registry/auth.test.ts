import { expect, test } from "bun:test";
import { parseChallenge } from "./auth.ts";

test("parseChallenge reads a Bearer challenge with quoted params", () => {
  expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"')).toEqual({
    scheme: "bearer",
    params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:a/b:pull" },
  });
  expect(parseChallenge('Basic realm="basic-realm"')).toEqual({ scheme: "basic", params: { realm: "basic-realm" } });
});

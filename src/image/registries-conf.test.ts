import { describe, expect, test } from "bun:test";
import { formatReference, parseReference } from "./reference.ts";
import { emptyConf, parseRegistriesConf, pullSources, shortNameCandidates, type RegistriesConf } from "./registries-conf.ts";

function conf(text: string): RegistriesConf {
  const c = emptyConf();
  const p = parseRegistriesConf(text, "test.conf");
  return { ...c, ...p, unqualifiedSearch: p.unqualifiedSearch ?? [], shortNameMode: p.shortNameMode ?? "enforcing" };
}

const MIRRORED = `
unqualified-search-registries = ["docker.io", "quay.io"]
[[registry]]
prefix = "docker.io"
location = "docker.io"
[[registry.mirror]]
location = "127.0.0.1:5055"
insecure = true
[[registry]]
prefix = "example.com/team"
location = "registry.internal:5000/mirror/team"
insecure = true
[aliases]
"sh" = "docker.io/library/busybox"
`;

describe("shortNameCandidates", () => {
  test("a short name expands to each search registry in order", () => {
    const c = conf(MIRRORED);
    expect(shortNameCandidates(c, parseReference("alpine")).map(formatReference)).toEqual([
      "docker.io/library/alpine:latest",
      "quay.io/alpine:latest",
    ]);
  });

  test("an alias wins over the search list and keeps the user's tag", () => {
    expect(shortNameCandidates(conf(MIRRORED), parseReference("sh:1.36")).map(formatReference)).toEqual(["docker.io/library/busybox:1.36"]);
  });

  test("a short name without search registries is a clear error", () => {
    expect(() => shortNameCandidates(conf(""), parseReference("alpine"))).toThrow('short-name "alpine" did not resolve');
  });
});

describe("pullSources", () => {
  test("mirrors come before the primary location", () => {
    const [ref] = shortNameCandidates(conf(MIRRORED), parseReference("alpine"));
    expect(pullSources(conf(MIRRORED), ref!)).toEqual([
      { registry: "127.0.0.1:5055", repository: "library/alpine", insecure: true, mirror: true },
      { registry: "docker.io", repository: "library/alpine", insecure: false, mirror: false },
    ]);
  });

  test("a prefix rewrites to its location", () => {
    const ref = { domain: "example.com", path: "team/app", tag: "1" };
    expect(pullSources(conf(MIRRORED), ref)).toEqual([{ registry: "registry.internal:5000", repository: "mirror/team/app", insecure: true, mirror: false }]);
  });

  test("an unconfigured registry is used as it is", () => {
    expect(pullSources(conf(MIRRORED), { domain: "ghcr.io", path: "a/b", tag: "x" })).toEqual([{ registry: "ghcr.io", repository: "a/b", insecure: false, mirror: false }]);
  });
});

test("parseRegistriesConf names the file on bad input", () => {
  expect(() => parseRegistriesConf("unqualified-search-registries = [", "/x/registries.conf")).toThrow('invalid registries.conf "/x/registries.conf"');
  expect(() => parseRegistriesConf('short-name-mode = "loose"', "f.conf")).toThrow('short-name-mode "loose"');
});

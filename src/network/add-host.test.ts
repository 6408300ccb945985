import { expect, test } from "bun:test";
import { addHostLines, parseAddHost, wantsHostGateway } from "./add-host.ts";

test("parseAddHost accepts NAME:IP, NAME=IP, IPv6 and host-gateway", () => {
  expect(parseAddHost("db:10.0.0.5")).toBe("db:10.0.0.5");
  expect(parseAddHost("db=10.0.0.5")).toBe("db:10.0.0.5");
  expect(parseAddHost("v6:[::1]")).toBe("v6:::1");
  expect(parseAddHost("v6:fe80::1")).toBe("v6:fe80::1");
  expect(parseAddHost("host.containers.internal:host-gateway")).toBe("host.containers.internal:host-gateway");
});

test("parseAddHost refuses what is not NAME:IP", () => {
  for (const v of ["db", "db:", ":1.2.3.4", "db:not-an-ip", "db:1.2.3"]) expect(() => parseAddHost(v)).toThrow(`invalid --add-host "${v}"`);
});

test("addHostLines resolves host-gateway per network mode", () => {
  const entries = ["h:host-gateway", "db:10.0.0.5"];
  expect(wantsHostGateway(entries)).toBe(true);
  expect(addHostLines(entries, "slirp4netns")).toEqual(["10.0.2.2\th", "10.0.0.5\tdb"]);
  expect(addHostLines(entries, "host")).toEqual(["127.0.0.1\th", "10.0.0.5\tdb"]);
  expect(() => addHostLines(entries, "none")).toThrow("--network none");
});

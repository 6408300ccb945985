import { expect, test } from "bun:test";
import { macFor } from "./endpoints.ts";
import { PEERS_MARKER, renderPeers, replacePeerSection, type Peer } from "./hosts.ts";

const A = "a".repeat(64);
const B = "b".repeat(64);
const C = "c".repeat(64);

const peers: Peer[] = [
  { network: "n1", id: A, name: "web", ip: "10.89.1.4", aliases: [] },
  { network: "n1", id: B, name: "redis", ip: "10.89.1.5", aliases: ["cache"] },
  { network: "n2", id: C, name: "db", ip: "10.89.2.4", aliases: [] },
  { network: "n2", id: B, name: "redis", ip: "10.89.2.5", aliases: [] },
];

test("renderPeers: peers on the container's networks by name, short id and alias, never itself", () => {
  expect(renderPeers({ id: A, networks: ["n1"] }, peers)).toEqual([`10.89.1.5\tredis ${"b".repeat(12)} cache`]);
  expect(renderPeers({ id: B, networks: ["n2", "n1"] }, peers)).toEqual([`10.89.2.4\tdb ${"c".repeat(12)}`, `10.89.1.4\tweb ${"a".repeat(12)}`]);
});

test("renderPeers: --link NAME:ALIAS adds the alias to the linked peer", () => {
  expect(renderPeers({ id: A, networks: ["n1"], links: ["redis:kv"] }, peers)).toEqual([`10.89.1.5\tredis ${"b".repeat(12)} cache kv`]);
});

test("renderPeers: the default network gives no names, only --link targets", () => {
  const onDefault: Peer[] = [
    { network: "podman", id: B, name: "redis", ip: "10.88.0.5", aliases: [] },
    { network: "podman", id: C, name: "db", ip: "10.88.0.6", aliases: [] },
  ];
  expect(renderPeers({ id: A, networks: ["podman"] }, onDefault)).toEqual([]);
  expect(renderPeers({ id: A, networks: ["podman"], links: ["db:data"] }, onDefault)).toEqual([`10.88.0.6	db ${"c".repeat(12)} data`]);
});

test("replacePeerSection: keeps what precedes the marker, replaces what follows", () => {
  const base = "127.0.0.1\tlocalhost\n10.0.0.9\textra\n";
  const once = replacePeerSection(base, ["10.89.1.5\tredis"]);
  expect(once).toBe(`${base}${PEERS_MARKER}\n10.89.1.5\tredis\n`);
  expect(replacePeerSection(once, [])).toBe(`${base}${PEERS_MARKER}\n`);
  expect(replacePeerSection(once, ["10.89.1.6\tweb"])).toBe(`${base}${PEERS_MARKER}\n10.89.1.6\tweb\n`);
});

test("macFor: 02:42 and the address's bytes, so a reused address keeps its MAC", () => {
  expect(macFor("10.89.1.4")).toBe("02:42:0a:59:01:04");
  expect(macFor("192.168.255.10")).toBe("02:42:c0:a8:ff:0a");
});

import { expect, test } from "bun:test";
import { checkNetworkName, defaultNetworkRecord, planNetwork } from "./store.ts";

test("checkNetworkName: podman's characters; modes are not names", () => {
  for (const ok of ["my-net", "a", "net_1.x", "9lives"]) expect(checkNetworkName(ok)).toBe(ok);
  expect(() => checkNetworkName("-net")).toThrow('invalid network name "-net"');
  expect(() => checkNetworkName("my net")).toThrow('invalid network name "my net"');
  expect(() => checkNetworkName("a/b")).toThrow('invalid network name "a/b"');
  expect(() => checkNetworkName("host")).toThrow('invalid network name "host": it is a network mode');
});

test("planNetwork: default subnet, gateway .2, id of 64 hex digits", () => {
  const n = planNetwork("my-net", {}, [], new Date("2026-01-01T00:00:00Z"));
  expect(n).toMatchObject({ name: "my-net", driver: "bridge", subnets: [{ subnet: "10.89.1.0/24", gateway: "10.89.1.2" }], internal: false, created: "2026-01-01T00:00:00.000Z" });
  expect(n.id).toMatch(/^[0-9a-f]{64}$/);
  const second = planNetwork("other", { internal: true, labels: { a: "b" } }, [n]);
  expect(second).toMatchObject({ subnets: [{ subnet: "10.89.2.0/24" }], internal: true, labels: { a: "b" } });
});

test("planNetwork: a taken name and an overlapping subnet are conflicts naming the other network", () => {
  const n = planNetwork("my-net", { subnet: "10.90.0.0/16" }, []);
  expect(() => planNetwork("my-net", {}, [n])).toThrow('network name "my-net" already used');
  expect(() => planNetwork("b", { subnet: "10.90.3.0/24" }, [n])).toThrow('subnet 10.90.3.0/24 overlaps network "my-net" (10.90.0.0/16)');
  expect(planNetwork("b", { subnet: "10.91.3.0/24" }, [n]).subnets[0]!.subnet).toBe("10.91.3.0/24");
});

test("planNetwork: only the bridge driver, and the gateway must be the router", () => {
  expect(() => planNetwork("x", { driver: "macvlan" }, [])).toThrow('unsupported network driver "macvlan"');
  expect(() => planNetwork("x", { subnet: "10.9.9.0/24", gateway: "10.9.9.1" }, [])).toThrow("slirp4netns's router is always 10.9.9.2");
  expect(planNetwork("x", { subnet: "10.9.9.0/24", gateway: "10.9.9.2" }, []).subnets[0]!.gateway).toBe("10.9.9.2");
});

test("defaultNetworkRecord: podman on 10.88.0.0/24 with podman's id, elsewhere only if a network took that subnet", () => {
  const d = defaultNetworkRecord([]);
  expect(d).toMatchObject({ name: "podman", id: "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9", subnets: [{ subnet: "10.88.0.0/24", gateway: "10.88.0.2" }], internal: false });
  const old = planNetwork("old", { subnet: "10.88.0.0/23" }, []);
  expect(defaultNetworkRecord([old]).subnets[0]!.subnet).toBe("10.88.2.0/24");
  // With it among the existing networks, create refuses its name and its subnet.
  expect(() => planNetwork("podman", {}, [d])).toThrow('network name "podman" already used');
  expect(() => planNetwork("wide", { subnet: "10.88.0.0/16" }, [d])).toThrow('overlaps network "podman"');
});

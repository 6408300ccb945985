import { expect, test } from "bun:test";
import { checkNetworkName, planNetwork } from "./store.ts";

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

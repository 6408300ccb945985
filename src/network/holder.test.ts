import { expect, test } from "bun:test";
import { holderConfig } from "./holder.ts";
import { planNetwork } from "./store.ts";

test("holderConfig: the bridge at .1, slirp4netns on the subnet without host loopback; none for an internal network", () => {
  const net = planNetwork("n", { subnet: "10.89.9.0/24" }, []);
  expect(holderConfig(net, { path: "/proc/42/ns/user" }, "/usr/bin/slirp4netns")).toEqual({
    userns: { path: "/proc/42/ns/user" },
    bridge: "br0",
    address: "10.89.9.1/24",
    mtu: 65520,
    slirp: { path: "/usr/bin/slirp4netns", args: ["--cidr", "10.89.9.0/24", "--mtu", "65520", "--disable-host-loopback"], device: "tap0" },
  });
  const internal = planNetwork("i", { subnet: "10.89.8.0/24", internal: true }, []);
  const maps = { uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] };
  expect(holderConfig(internal, maps, "/usr/bin/slirp4netns")).toEqual({ userns: maps, bridge: "br0", address: "10.89.8.1/24", mtu: 65520 });
});

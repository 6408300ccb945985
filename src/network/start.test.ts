import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NETWORK_ATTACHMENTS_ANNOTATION } from "../runtime/shim.ts";
import { attachmentFor, joinNetworkNamespaces } from "./start.ts";

const endpoint = { networkId: "x", ip: "10.89.1.4", prefixLen: 24, gateway: "10.89.1.2", interface: "eth0", hostInterface: "ctr0123456789ab", mac: "02:42:0a:59:01:04" };

test("attachmentFor: the shim's attachment, the gateway only for the default route", () => {
  expect(attachmentFor("/proc/9/ns/net", endpoint, true)).toEqual({
    netns: "/proc/9/ns/net", bridge: "br0", hostInterface: "ctr0123456789ab", interface: "eth0", address: "10.89.1.4/24", gateway: "10.89.1.2", mtu: 65520, mac: "02:42:0a:59:01:04",
  });
  expect(attachmentFor("/proc/9/ns/net", endpoint, false).gateway).toBeUndefined();
});

test("joinNetworkNamespaces: joins the user namespace by path with the attachments, and undoes both", () => {
  const dir = mkdtempSync(join(tmpdir(), "ctr-spec-"));
  try {
    const spec = { ociVersion: "1.0.2", linux: { namespaces: [{ type: "user" }, { type: "mount" }, { type: "network" }], uidMappings: [] }, annotations: { keep: "me" } };
    writeFileSync(join(dir, "config.json"), JSON.stringify(spec));
    const attachment = attachmentFor("/proc/9/ns/net", endpoint, true);
    joinNetworkNamespaces(dir, "/proc/9/ns/user", [attachment]);
    const joined = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(joined.linux.namespaces).toEqual([{ type: "user", path: "/proc/9/ns/user" }, { type: "mount" }, { type: "network" }]);
    expect(JSON.parse(joined.annotations[NETWORK_ATTACHMENTS_ANNOTATION])).toEqual([attachment]);
    expect(joined.annotations.keep).toBe("me");
    joinNetworkNamespaces(dir, undefined, []);
    const left = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(left.linux.namespaces[0]).toEqual({ type: "user" });
    expect(left.annotations).toEqual({ keep: "me" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

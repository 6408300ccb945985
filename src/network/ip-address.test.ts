import { describe, expect, test } from "bun:test";
import { isIP as nodeIsIP } from "node:net";
import { isIP } from "./ip-address.ts";

describe("isIP", () => {
  test("agrees with node:net on addresses and non-addresses", () => {
    const cases = ["10.89.1.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4 ", "::", "::1", "fe80::1", "2001:db8::8a2e:370:7334", "::ffff:192.0.2.1", "1::2::3", "gggg::1", "host-gateway", "", "[::1]", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9"];
    for (const c of cases) expect([c, isIP(c)]).toEqual([c, nodeIsIP(c) as 0 | 4 | 6]);
  });
});

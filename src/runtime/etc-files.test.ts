import { expect, test } from "bun:test";
import { containerResolvConf } from "./etc-files.ts";

test("containerResolvConf drops loopback name servers and falls back to public ones", () => {
  expect(containerResolvConf("search lan\nnameserver 127.0.0.53\nnameserver 10.0.0.1\n")).toBe("search lan\nnameserver 10.0.0.1\n");
  expect(containerResolvConf("nameserver 127.0.0.1\n")).toBe("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
});

test("containerResolvConf: slirp4netns's forwarder replaces the host's name servers; host networking keeps loopback", () => {
  expect(containerResolvConf("search lan\nnameserver 127.0.0.53\nnameserver 10.0.0.1\n", { nameservers: ["10.0.2.3"] })).toBe("nameserver 10.0.2.3\nsearch lan\n");
  expect(containerResolvConf("nameserver 127.0.0.53\n", { keepLoopback: true })).toBe("nameserver 127.0.0.53\n");
});

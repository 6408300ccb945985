import { expect, test } from "bun:test";
import { exposedPortSpecs, withExposedPorts } from "./publish-all.ts";

test("exposedPortSpecs: every exposed port on a random host port, tcp by default", () => {
  expect(exposedPortSpecs({ "80/tcp": {}, "53/udp": {}, "8080": {} }, [])).toEqual(["8080/tcp", "80/tcp", "53/udp"]);
});

test("exposedPortSpecs: ports -p already publishes are left to -p, per protocol", () => {
  expect(exposedPortSpecs({ "80/tcp": {}, "53/udp": {}, "53/tcp": {} }, ["8080:80", "127.0.0.1::53/udp"])).toEqual(["53/tcp"]);
});

test("exposedPortSpecs: a range stays one spec unless -p took part of it; sctp is skipped", () => {
  expect(exposedPortSpecs({ "8000-8002/tcp": {}, "9/sctp": {} }, [])).toEqual(["8000-8002/tcp"]);
  expect(exposedPortSpecs({ "8000-8002/tcp": {} }, ["9000:8001"])).toEqual(["8000/tcp", "8002/tcp"]);
});

test("exposedPortSpecs: an image without EXPOSE adds nothing", () => {
  expect(exposedPortSpecs(undefined, ["80"])).toEqual([]);
});

test("withExposedPorts: -P with --network container: and exposed ports is refused", () => {
  expect(withExposedPorts({ mode: "slirp4netns", publish: ["1:2"] }, { "80/tcp": {} })).toEqual(["1:2", "80/tcp"]);
  expect(() => withExposedPorts({ mode: "container", publish: [] }, { "80/tcp": {} })).toThrow("cannot publish the image's exposed ports (-P) with --network container");
  expect(withExposedPorts({ mode: "container", publish: [] }, undefined)).toEqual([]);
});

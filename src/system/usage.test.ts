import { expect, test } from "bun:test";
import { dfSummary, garbage, imageUsage, needed, planPrune, type ContainerFacts, type StoreFacts } from "./usage.ts";

const base = { id: "sha256:base", names: ["docker.io/library/base:latest"], layers: ["L1"], blobs: ["M1", "C1", "B1"] };
const app = { id: "sha256:app", names: ["localhost/app:latest"], layers: ["L1", "L2"], blobs: ["M2", "C2", "B1", "B2"] };
const dangling = { id: "sha256:old", names: [], layers: ["L3"], blobs: ["M3", "C3", "B3"] };

function container(over: Partial<ContainerFacts>): ContainerFacts {
  return { id: "c", name: "c", imageId: "sha256:base", image: "base", command: [], created: "", status: "exited", layers: ["L1"], volumes: [], bytes: 10, ...over };
}

function facts(over: Partial<StoreFacts> = {}): StoreFacts {
  return {
    images: [base, app, dangling],
    containers: [],
    volumes: [],
    layers: new Map([["L1", 1000], ["L2", 200], ["L3", 30], ["L9", 4]]),
    blobs: new Map([["M1", 1], ["C1", 2], ["B1", 400], ["M2", 1], ["C2", 2], ["B2", 80], ["M3", 1], ["C3", 2], ["B3", 10]]),
    layerBlobs: new Map([["L1", "B1"], ["L2", "B2"], ["L3", "B3"]]),
    ...over,
  };
}

test("needed and garbage count a shared layer once and keep a container's layers without its image", () => {
  const f = facts();
  const keep = needed(f, [base], [container({ layers: ["L2"] })]);
  expect([...keep.layers].sort()).toEqual(["L1", "L2"]);
  expect([...keep.blobs].sort()).toEqual(["B1", "B2", "C1", "M1"]);
  const g = garbage(f, keep);
  expect(g.layers.sort()).toEqual(["L3", "L9"]);
  expect(g.blobs.sort()).toEqual(["C2", "C3", "M2", "M3", "B3"].sort());
  expect(g.bytes).toBe(30 + 4 + 2 + 2 + 1 + 1 + 10);
});

test("dfSummary: image size is the whole store once, reclaimable what no container's image needs", () => {
  const f = facts({
    containers: [container({ id: "a", status: "running", volumes: ["v1"], bytes: 7 }), container({ id: "b", status: "exited", bytes: 5 })],
    volumes: [{ name: "v1", anonymous: false, created: "", bytes: 100 }, { name: "v2", anonymous: true, created: "", bytes: 50 }],
  });
  const [images, containers, volumes, cache] = dfSummary(f);
  expect(images).toEqual({ Type: "Images", Total: 3, Active: 1, RawSize: 1234 + 499, RawReclaimable: 200 + 30 + 4 + 1 + 2 + 80 + 1 + 2 + 10 });
  expect(containers).toEqual({ Type: "Containers", Total: 2, Active: 1, RawSize: 12, RawReclaimable: 5 });
  expect(volumes).toEqual({ Type: "Local Volumes", Total: 2, Active: 1, RawSize: 150, RawReclaimable: 50 });
  expect(cache).toEqual({ Type: "Build Cache", Total: 0, Active: 0, RawSize: 0, RawReclaimable: 0 });
});

test("imageUsage splits each image into shared and unique bytes", () => {
  const [b, a, d] = imageUsage(facts({ containers: [container({})] }));
  expect(b).toMatchObject({ size: 1000 + 1 + 2 + 400, shared: 1400, containers: 1 });
  expect(a).toMatchObject({ size: 1000 + 200 + 1 + 2 + 400 + 80, shared: 1400, containers: 0 });
  expect(d).toMatchObject({ size: 30 + 1 + 2 + 10, shared: 0 });
});

test("planPrune keeps what running containers use; -a takes named images, --volumes named volumes", () => {
  const f = facts({
    containers: [container({ id: "run", status: "running", imageId: "sha256:app", volumes: ["used"] }), container({ id: "stopped", volumes: ["gone"] })],
    volumes: [{ name: "used", anonymous: false, created: "", bytes: 1 }, { name: "gone", anonymous: false, created: "", bytes: 1 }],
  });
  const plain = planPrune(f, { all: false, volumes: false });
  expect(plain.containers.map((c) => c.id)).toEqual(["stopped"]);
  expect(plain.images.map((i) => i.id)).toEqual(["sha256:old"]);
  expect(plain.volumes).toEqual([]);
  const all = planPrune(f, { all: true, volumes: true });
  expect(all.images.map((i) => i.id)).toEqual(["sha256:base", "sha256:old"]);
  expect(all.volumes.map((v) => v.name)).toEqual(["gone"]);
});

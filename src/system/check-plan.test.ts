import { expect, test } from "bun:test";
import { findProblems, planRepair, type CheckInput } from "./check-plan.ts";

const A = "sha256:" + "a".repeat(64);
const B = "sha256:" + "b".repeat(64);
const M = "sha256:" + "c".repeat(64);
const L = "sha256:" + "d".repeat(64);

function input(over: Partial<CheckInput> = {}): CheckInput {
  return {
    blobs: [{ digest: A, ok: true }, { digest: B, ok: true }, { digest: M, ok: true }],
    layers: [{ diffId: L, complete: true }],
    images: [{ id: A, names: ["docker.io/library/x:latest"], manifestDigest: M, layers: [L], manifest: { config: { digest: A, mediaType: "", size: 1 }, layers: [{ digest: B, mediaType: "", size: 1 }] }, config: { rootfs: { type: "layers", diff_ids: [L] } } }],
    containers: [{ id: "f".repeat(64), name: "web", layers: [L], missing: [], missingVolumes: [] }],
    ...over,
  };
}

test("findProblems: a sound store has none", () => {
  expect(findProblems(input())).toEqual([]);
});

test("findProblems: a damaged layer blob is reported, and the image that needs it", () => {
  const p = findProblems(input({ blobs: [{ digest: A, ok: true }, { digest: B, ok: false }, { digest: M, ok: true }] }));
  expect(p.map((x) => x.message)).toEqual([`blob ${B}: content does not match its digest`, `image docker.io/library/x:latest (aaaaaaaaaaaa): layer blob ${B} is damaged`]);
  expect(planRepair(p, false)).toEqual({ blobs: [B], layers: [], images: [A], containers: [], left: [] });
});

test("findProblems: a missing layer damages the image and the container; containers go only with force", () => {
  const p = findProblems(input({ layers: [] }));
  expect(p.map((x) => x.kind)).toEqual(["image", "container"]);
  expect(p[1]!.message).toBe(`container web (ffffffffffff): layer ${L} is missing`);
  const soft = planRepair(p, false);
  expect(soft.containers).toEqual([]);
  expect(soft.left.map((x) => x.kind)).toEqual(["container"]);
  expect(planRepair(p, true).containers).toEqual(["f".repeat(64)]);
});

test("findProblems: a config whose layers differ from the record, and an unreadable manifest", () => {
  const img = input().images[0]!;
  const wrong = findProblems(input({ images: [{ ...img, config: { rootfs: { type: "layers", diff_ids: [] } } }] }));
  expect(wrong.map((x) => x.message)).toEqual(["image docker.io/library/x:latest (aaaaaaaaaaaa): config's layers do not match the image's record"]);
  const junk = findProblems(input({ images: [{ ...img, manifest: null }] }));
  expect(junk[0]!.message).toContain(`manifest ${M} is not an image manifest`);
});

test("findProblems: a container's missing directory or volume", () => {
  const p = findProblems(input({ containers: [{ id: "e".repeat(64), name: "db", layers: [L], missing: ["/s/upper"], missingVolumes: ["data"] }] }));
  expect(p.map((x) => x.message)).toEqual(["container db (eeeeeeeeeeee): /s/upper is missing", "container db (eeeeeeeeeeee): volume data is missing"]);
});

import { afterEach, beforeEach, expect, test } from "bun:test";
import { lstatSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainerStore, type ContainerRecord } from "./container-store.ts";
import { newContainerId } from "./names.ts";

let root: string;
let store: ContainerStore;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ctr-store-test-"));
  store = new ContainerStore(root);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function record(name: string): ContainerRecord {
  const id = newContainerId();
  return {
    id, name, created: "", image: "alpine", imageName: "alpine", imageId: "x", command: ["true"],
    rootfs: { merged: "", lowerDirs: [], upperDir: "", workDir: "" }, bundle: "", autoRemove: false, tty: false, labels: {},
  };
}

async function create(name: string): Promise<ContainerRecord> {
  const rec = record(name);
  await store.create(rec, () => {});
  return rec;
}

test("ContainerStore.get finds a container by name, full id and unique id prefix", async () => {
  const a = await create("alpha");
  await create("beta");
  expect(store.get("alpha").id).toBe(a.id);
  expect(store.get(a.id).name).toBe("alpha");
  expect(store.get(a.id.slice(0, 12)).name).toBe("alpha");
  expect(() => store.get("gamma")).toThrow("no such container: gamma");
});

test("ContainerStore.create refuses a name in use and gives it again once its container is forgotten", async () => {
  const a = await create("web");
  await expect(create("web")).rejects.toThrow('the container name "web" is already in use');
  await store.forget(a);
  expect(() => store.get("web")).toThrow("no such container");
  expect((await create("web")).name).toBe("web");
  expect(readdirSync(join(root, "containers")).filter((e) => !e.startsWith("."))).toHaveLength(1);
});

test("ContainerStore.update renames: the new name is taken, the old one freed", async () => {
  const a = await create("old");
  await create("taken");
  await expect(store.update(a.id, (r) => void (r.name = "taken"))).rejects.toThrow('"taken" is already in use');
  await store.update(a.id, (r) => void (r.name = "new"));
  expect(store.get("new").id).toBe(a.id);
  expect(() => store.get("old")).toThrow("no such container");
  expect((await create("old")).name).toBe("old");
});

test("ContainerStore: a name whose container directory was deleted by hand is free again", async () => {
  const a = await create("stale");
  rmSync(store.dir(a.id), { recursive: true });
  expect(() => store.get("stale")).toThrow("no such container");
  const b = await create("stale");
  expect(store.get("stale").id).toBe(b.id);
});

test("ContainerStore: a store made before the name index still finds names and refuses taken ones", async () => {
  const a = await create("legacy");
  rmSync(join(root, "container-names"), { recursive: true });
  expect(store.get("legacy").id).toBe(a.id);
  await expect(create("legacy")).rejects.toThrow("already in use");
  expect(lstatSync(join(root, "container-names", "legacy")).isSymbolicLink()).toBe(true);
  expect(store.get("legacy").id).toBe(a.id);
});

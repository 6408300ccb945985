import { expect, test } from "bun:test";
import { applyChanges } from "./commit.ts";

test("applyChanges takes exec and shell forms of CMD and ENTRYPOINT, in both spellings", () => {
  expect(applyChanges({}, ['CMD ["echo","hi"]']).Cmd).toEqual(["echo", "hi"]);
  expect(applyChanges({}, ["CMD=echo hi"]).Cmd).toEqual(["/bin/sh", "-c", "echo hi"]);
  expect(applyChanges({}, ['ENTRYPOINT ["/bin/tini"]']).Entrypoint).toEqual(["/bin/tini"]);
});

test("applyChanges replaces an ENV key and keeps the others", () => {
  const c = applyChanges({ Env: ["PATH=/bin", "A=1"] }, ["ENV A=2 B=\"x y\"", "ENV C d"]);
  expect(c.Env).toEqual(["PATH=/bin", "A=2", "B=x y", "C=d"]);
});

test("applyChanges sets USER, WORKDIR (relative to the old one), EXPOSE, LABEL, VOLUME, STOPSIGNAL", () => {
  const c = applyChanges({ WorkingDir: "/app" }, ["USER 1000:1000", "WORKDIR sub", "EXPOSE 80 53/udp", "LABEL a=b", 'VOLUME ["/data"]', "STOPSIGNAL SIGINT"]);
  expect(c).toEqual({
    User: "1000:1000",
    WorkingDir: "/app/sub",
    ExposedPorts: { "80/tcp": {}, "53/udp": {} },
    Labels: { a: "b" },
    Volumes: { "/data": {} },
    StopSignal: "SIGINT",
  });
});

test("applyChanges refuses an unknown instruction naming the change", () => {
  expect(() => applyChanges({}, ["RUN echo"])).toThrow('invalid change "RUN echo"');
});

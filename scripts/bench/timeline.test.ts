import { describe, expect, test } from "bun:test";
import { formatTimeline, parseStrace, runSpans } from "./timeline.ts";

// Shortened from `strace -f -tt` of `env -i … ctr run --rm alpine true` as ctrtest.
const TRACE = `
4675  13:01:32.244765 execve("/usr/bin/env", ["env", "-i", "HOME=/home/ctrtest"], 0x7ffd /* 9 vars */) = 0
4675  13:01:32.247961 execve("/tmp/i7/ctr", ["/tmp/i7/ctr", "run", "--rm", "alpine", "true"], 0x560e /* 6 vars */) = 0
4675  13:01:32.251000 openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3
4675  13:01:32.285296 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD, child_tid=0x7fba}, 88) = 4676
4675  13:01:32.300000 openat(AT_FDCWD, "/var/tmp/d/ctr/storage/images.json", O_RDONLY|O_CLOEXEC) = 5
4675  13:01:32.301000 openat(AT_FDCWD, "/var/tmp/d/ctr/storage/images.json", O_RDONLY|O_CLOEXEC) = 5
4675  13:01:32.319980 vfork( <unfinished ...>
4680  13:01:32.329428 execve("/var/tmp/d/ctr/shim/ctr-shim-759b1d3dd745538d", ["/var/tmp/d/ctr/shim/c"..., "run", "--bundle", "/var/tmp/d/ctr/contai"...], 0x7ffc /* 6 vars */ <unfinished ...>
4675  13:01:32.329820 <... vfork resumed>) = 4680
4680  13:01:32.330092 <... execve resumed>) = 0
4680  13:01:32.333663 clone(child_stack=NULL, flags=CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET|SIGCHLD) = 4681
4680  13:01:32.337527 fork( <unfinished ...>
4682  13:01:32.338101 execve("/usr/bin/newuidmap", ["newuidmap", "4681", "0", "1003", "1"], 0x7ffc /* 6 vars */ <unfinished ...>
4680  13:01:32.338450 <... fork resumed>) = 4682
4682  13:01:32.338654 <... execve resumed>) = 0
4682  13:01:32.345066 exit_group(0)     = ?
4683  13:01:32.346211 execve("/usr/bin/newgidmap", ["newgidmap", "4681", "0", "1003", "1"], 0x7ffc /* 6 vars */) = 0
4683  13:01:32.357727 exit_group(0)     = ?
4681  13:01:32.361179 mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL) = 0
4681  13:01:32.361270 fsopen("overlay", FSOPEN_CLOEXEC) = 4
4681  13:01:32.370753 pivot_root(".", ".") = 0
4681  13:01:32.374557 execve("/usr/local/sbin/true", ["true"], 0x7fa3 /* 3 vars */) = -1 ENOENT (No such file or directory)
4681  13:01:32.375134 execve("/bin/true", ["true"], 0x7fa3 /* 3 vars */) = 0
4681  13:01:32.379479 exit_group(0)     = ?
4680  13:01:32.393268 exit_group(0)     = ?
4686  13:01:32.404016 execve("/var/tmp/d/ctr/shim/ctr-shim-759b1d3dd745538d", ["/var/tmp/d/ctr/shim/c"..., "userns", "--uid-map"], 0x7fff /* 6 vars */) = 0
4686  13:01:32.405268 unshare(CLONE_NEWNS|CLONE_NEWUSER) = 0
4686  13:01:32.420180 execve("/bin/rm", ["/bin/rm", "-rf", "--", "/var/tmp/d/ctr/contai"...], 0x7fff /* 6 vars */) = 0
4686  13:01:32.423517 exit_group(0)     = ?
4675  13:01:32.424323 exit_group(0)     = ?
4675  13:01:32.424500 +++ exited with 0 +++
`;

describe("parseStrace", () => {
  const events = parseStrace(TRACE, "ctr");

  test("parseStrace starts the clock at ctr's execve and skips the wrapper", () => {
    expect(events[0]).toEqual({ ms: 0, pid: 4675, what: "exec ctr run" });
    expect(events.some((e) => e.what.startsWith("exec env"))).toBe(false);
  });

  test("parseStrace joins an unfinished execve with its result and names the shim without its hash", () => {
    const shim = events.find((e) => e.pid === 4680 && e.what.startsWith("exec"));
    expect(shim?.what).toBe("exec ctr-shim run");
    expect(shim?.ms).toBeCloseTo(81.467, 2);
  });

  test("parseStrace keeps only successful execs, namespaces, first mount, pivot_root and exits", () => {
    expect(events.map((e) => e.what)).toEqual([
      "exec ctr run",
      "exec ctr-shim run",
      "new namespaces (user, mount, pid, net, uts, ipc)",
      "exec newuidmap",
      "exit newuidmap",
      "exec newgidmap",
      "exit newgidmap",
      "first mount",
      "pivot_root",
      "exec true",
      "exit true",
      "exit ctr-shim",
      "exec ctr-shim userns",
      "new namespaces (user, mount)",
      "exec rm -rf",
      "exit rm",
      "exit ctr",
    ]);
  });

  test("parseStrace returns nothing when the start program never ran", () => {
    expect(parseStrace(TRACE, "podman")).toEqual([]);
  });
});

describe("runSpans", () => {
  test("runSpans splits ctr's own time at the first open of its store when given the store", () => {
    const spans = runSpans(parseStrace(TRACE, "ctr", { store: "/var/tmp/d/ctr" }));
    const ms = (prefix: string) => Math.round((spans.find((s) => s.label.startsWith(prefix))?.ms ?? NaN) * 10) / 10;
    expect(ms("ctr: start of the compiled binary")).toBe(52);
    expect(ms("ctr: image lookup")).toBe(29.4);
    expect(spans.some((s) => s.label.startsWith("ctr: start, image"))).toBe(false);
  });


  test("runSpans splits a run into ctr, id maps, mounts, the command and cleanup", () => {
    const spans = runSpans(parseStrace(TRACE, "ctr"));
    const ms = (prefix: string) => Math.round((spans.find((s) => s.label.startsWith(prefix))?.ms ?? NaN) * 10) / 10;
    expect(ms("ctr: start, image")).toBe(81.5);
    expect(ms("newuidmap")).toBe(18.5);
    expect(ms("rootfs")).toBe(9.6);
    expect(ms("the container's command")).toBe(4.3);
    expect(ms("shim: from")).toBe(13.8);
    expect(ms("ctr: from the shim's exit")).toBe(31.1);
    expect(ms("  of which")).toBe(19.5);
    expect(ms("total")).toBe(176.4);
  });
});

// From \`ctr run -d alpine sleep 3\`: the shim double-forks into the monitor and the container outlives ctr.
const DETACHED = `
2924  13:15:52.569966 execve("/b/ctr", ["/b/ct"..., "run", "-d", "alpine", "sleep", "3"], 0x55f8 /* 9 vars */) = 0
2924  13:15:52.605870 vfork( <unfinished ...>
2930  13:15:52.607488 execve("/d/ctr/shim/ctr-shim-759b1d3dd745538d", ["/d/c"..., "run", "--bundle"], 0x7ff /* 9 vars */) = 0
2924  13:15:52.607696 <... vfork resumed>) = 2930
2930  13:15:52.609972 fork()            = 2931
2931  13:15:52.610706 fork()            = 2932
2931  13:15:52.610874 exit_group(0)     = ?
2932  13:15:52.621688 clone(child_stack=NULL, flags=CLONE_NEWNS|CLONE_NEWUSER|CLONE_NEWPID|SIGCHLD) = 2934
2934  13:15:52.642756 fsopen("overlay", FSOPEN_CLOEXEC) = 4
2934  13:15:52.647285 pivot_root(".", ".") = 0
2934  13:15:52.648933 execve("/bin/sleep", ["sleep", "3"], 0x7fed /* 3 vars */) = 0
2930  13:15:52.649912 exit_group(0)     = ?
2924  13:15:52.657729 exit_group(0)     = ?
2934  13:15:55.650293 exit_group(0)     = ?
2932  13:15:55.657719 exit_group(0)     = ?
`;

describe("detached runs", () => {
  const events = parseStrace(DETACHED, "ctr");

  test("parseStrace names a forked child after its parent until it execs", () => {
    expect(events.filter((e) => e.pid === 2931 || e.pid === 2932).map((e) => e.what)).toEqual([
      "exit ctr-shim",
      "new namespaces (user, mount, pid)",
      "exit ctr-shim",
    ]);
  });

  test("runSpans leaves out the container's lifetime when it outlives ctr", () => {
    const spans = runSpans(events);
    expect(spans.map((s) => s.label.split(":")[0])).not.toContain("the container's command itself");
    expect(spans.every((s) => s.ms >= 0)).toBe(true);
    expect(spans.find((s) => s.label.startsWith("total"))?.ms).toBeCloseTo(87.763, 2);
  });
});

// From a ctr whose shim execs \`ctr rm -f -v ID\` in its own process once the container exits.
const HANDOVER = `
27041 13:50:01.920246 execve("/tmp/i7/ctr-new", ["/tmp/i7/ctr-new", "run", "--rm", "alpine", "true"], 0x561c /* 6 vars */) = 0
27046 13:50:01.975212 execve("/d/ctr/shim/ctr-shim-339aa4b4dd5ac884", ["/d/ctr/shim/ctr-shim-339aa4b4dd5ac884", "run", "--bundle"], 0x7ff /* 6 vars */) = 0
27046 13:50:01.976000 clone(child_stack=NULL, flags=CLONE_NEWNS|CLONE_NEWUSER|CLONE_NEWPID|SIGCHLD) = 27047
27047 13:50:02.020000 pivot_root(".", ".") = 0
27047 13:50:02.031206 execve("/bin/true", ["true"], 0x7fca /* 3 vars */) = 0
27047 13:50:02.033000 exit_group(0)     = ?
27046 13:50:02.039941 execve("/tmp/i7/ctr-new", ["/tmp/i7/ctr-new", "--root", "/d/ctr", "rm", "-f", "-v", "f254"], 0x7ffe /* 6 vars */) = 0
27059 13:50:02.102619 execve("/d/ctr/shim/ctr-shim-339aa4b4dd5ac884", ["/d/ctr/shim/ctr-shim-339aa4b4dd5ac884", "userns", "--uid-map"], 0x7ffc /* 6 vars */) = 0
27059 13:50:02.125218 execve("/bin/rm", ["/bin/rm", "-rf", "--", "/d/ctr/containers/f254"], 0x7ffc /* 6 vars */) = 0
27059 13:50:02.130000 exit_group(0)     = ?
27046 13:50:02.136000 exit_group(0)     = ?
27041 13:50:02.138500 exit_group(0)     = ?
`;

describe("hand-over from the shim", () => {
  test("runSpans gives the program the shim execs after the container its own span", () => {
    const spans = runSpans(parseStrace(HANDOVER, "ctr-new"));
    const ms = (prefix: string) => Math.round((spans.find((s) => s.label.startsWith(prefix))?.ms ?? NaN) * 10) / 10;
    expect(ms("shim: from the container's exit until it execs `ctr-new --root`")).toBe(6.9);
    expect(ms("`ctr-new --root` run by the shim")).toBe(96.1);
    expect(ms("ctr: from the shim's exit")).toBe(2.5);
    const labels = spans.map((s) => s.label);
    expect(labels[labels.findIndex((l) => l.startsWith("`ctr-new --root` run by")) + 1]).toStartWith("  of which `ctr-shim userns");
    expect(ms("  of which")).toBe(27.4);
  });
});

// From \`ctr run --rm --network none alpine true\` with --exit-command-by-caller: ctr removes the
// container itself (unlinks after the container's exit) while the shim waits for its \`done\`.
const CALLER_RM = `
5655  14:30:57.164723 execve("/tmp/perf/ctr", ["/tmp/perf/ctr", "run", "--rm", "alpine", "true"], 0x557b /* 5 vars */) = 0
5655  14:30:57.190000 unlink("/d/ctr/containers.lock") = 0
5655  14:30:57.221888 vfork( <unfinished ...>
5660  14:30:57.227769 execve("/d/ctr/shim/ctr-shim-f7374469e7a191d5", ["/d/c"..., "run", "--bundle"], 0x7f /* 5 vars */) = 0
5655  14:30:57.228000 <... vfork resumed>) = 5660
5660  14:30:57.230000 clone(child_stack=NULL, flags=CLONE_NEWNS|CLONE_NEWUSER|CLONE_NEWPID|SIGCHLD) = 5661
5661  14:30:57.300000 fsopen("overlay", FSOPEN_CLOEXEC) = 4
5661  14:30:57.310000 pivot_root(".", ".") = 0
5661  14:30:57.323096 execve("/bin/true", ["true"], 0x7fcc /* 3 vars */) = 0
5661  14:30:57.324559 exit_group(0)     = ?
5655  14:30:57.330000 unlinkat(AT_FDCWD, "/r/ctr/containers/a6be/exit", 0) = 0
5655  14:30:57.331000 unlinkat(AT_FDCWD, "/r/ctr/containers/a6be/pid", 0) = 0
5660  14:30:57.340000 exit_group(0)     = ?
5655  14:30:57.345000 exit_group(0)     = ?
`;

describe("removal by the attached ctr", () => {
  test("runSpans gives ctr's removal of the container its own span, ending at the shim's exit", () => {
    const events = parseStrace(CALLER_RM, "ctr");
    expect(events.filter((e) => e.what === "ctr deletes files").map((e) => e.ms.toFixed(1))).toEqual(["165.3"]);
    const spans = runSpans(events);
    const ms = (prefix: string) => Math.round((spans.find((s) => s.label.startsWith(prefix))?.ms ?? NaN) * 10) / 10;
    expect(ms("from the container's exit until ctr deletes")).toBe(5.4);
    expect(ms("ctr: removing the container")).toBe(10);
    expect(ms("ctr: from the shim's exit")).toBe(5);
    expect(spans.some((s) => s.label.startsWith("shim: from the container's exit"))).toBe(false);
  });
});

describe("formatTimeline", () => {
  test("formatTimeline gives each step its time and the gap since the previous one", () => {
    const lines = formatTimeline([
      { ms: 0, pid: 1, what: "exec ctr run" },
      { ms: 12.5, pid: 2, what: "exec ctr-shim run" },
    ]);
    expect(lines.slice(2)).toEqual(["| 0.0 ms | 1 | exec ctr run | 0.0 ms |", "| 12.5 ms | 2 | exec ctr-shim run | 12.5 ms |"]);
  });
});

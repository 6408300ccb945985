import { describe, expect, test } from "bun:test";
import { CtrError } from "../../errors.ts";
import { type Column, formatObjects, formatRows, headerFromField, tabwrite } from "./output.ts";

// Rows and columns as `podman images` has them; the expected tables below are
// what podman 4.3 printed for the same two images (vfs store, local registry).
const columns: Column[] = [
  { header: "REPOSITORY", field: "Repository" },
  { header: "TAG", field: "Tag" },
  { header: "IMAGE ID", field: "ID" },
  { header: "CREATED", field: "Created" },
  { header: "SIZE", field: "Size" },
];
const names = ["127.0.0.1:5055/library/busybox:latest", "127.0.0.1:5055/library/alpine:latest"];
const rows = [
  { Repository: "127.0.0.1:5055/library/busybox", Tag: "latest", ID: "79d42a48af8d", Created: "56 years ago", Size: "2.13 MB", Names: names },
  { Repository: "127.0.0.1:5055/library/alpine", Tag: "latest", ID: "79d42a48af8d", Created: "56 years ago", Size: "2.13 MB", Names: names },
];
const headerNames = { ID: "IMAGE ID", ReadOnly: "R/O" };

const podmanDefault = [
  "REPOSITORY                      TAG         IMAGE ID      CREATED       SIZE",
  "127.0.0.1:5055/library/busybox  latest      79d42a48af8d  56 years ago  2.13 MB",
  "127.0.0.1:5055/library/alpine   latest      79d42a48af8d  56 years ago  2.13 MB",
];

describe("formatRows default table", () => {
  test("undefined, empty and 'table' print the default table aligned as podman does", () => {
    expect(formatRows(undefined, rows, columns, headerNames)).toEqual(podmanDefault);
    expect(formatRows("", rows, columns, headerNames)).toEqual(podmanDefault);
    expect(formatRows("table", rows, columns, headerNames)).toEqual(podmanDefault);
    expect(formatRows("table  ", rows, columns, headerNames)).toEqual(podmanDefault);
  });

  test("with no rows the header is still printed, columns at least 12 wide", () => {
    expect(formatRows(undefined, [], columns)).toEqual(["REPOSITORY  TAG         IMAGE ID    CREATED     SIZE"]);
  });

  test("empty cells keep their column", () => {
    const cols = [
      { header: "STATUS", field: "Status" },
      { header: "PORTS", field: "Ports" },
      { header: "NAMES", field: "Names" },
    ];
    expect(formatRows(undefined, [{ Status: "Created", Ports: "", Names: "fmt1" }], cols)).toEqual([
      "STATUS      PORTS       NAMES",
      "Created                 fmt1",
    ]);
  });
});

describe("formatRows table templates", () => {
  test("headers come from headerNames, then the columns, then the field name split and upper-cased", () => {
    const out = formatRows("table {{.Repository}}\\t{{.ID}}\\t{{.CreatedAt}}", [{ ...rows[0]!, CreatedAt: "1970-01-01 00:00:00 +0000 UTC" }], columns, headerNames);
    expect(out).toEqual([
      "REPOSITORY                      IMAGE ID      CREATED AT",
      "127.0.0.1:5055/library/busybox  79d42a48af8d  1970-01-01 00:00:00 +0000 UTC",
    ]);
  });

  test("spaces between actions separate columns, as podman reads table formats", () => {
    expect(formatRows("table {{.ID}} {{.Tag}}", rows, columns, headerNames)).toEqual([
      "IMAGE ID      TAG",
      "79d42a48af8d  latest",
      "79d42a48af8d  latest",
    ]);
  });

  test("spaces inside actions are kept", () => {
    expect(formatRows('table {{.Tag}}\\t{{join .Names ", "}}', rows.slice(0, 1), columns)).toEqual([
      "TAG         NAMES",
      `latest      ${names.join(", ")}`,
    ]);
  });

  test("a trailing tab pads the last column, as Go's tabwriter does", () => {
    expect(formatRows("table {{.Tag}}\\t{{.Size}}\\t", rows.slice(0, 1), columns)).toEqual(["TAG         SIZE        ", "latest      2.13 MB     "]);
  });

  test("string functions leave headers as they are", () => {
    expect(formatRows('table {{upper .Tag}}\\t{{json .Names}}\\t{{join .Names ","}}', rows.slice(0, 1), columns)).toEqual([
      `TAG         ${"NAMES".padEnd(JSON.stringify(names).length + 2)}NAMES`,
      `LATEST      ${JSON.stringify(names)}  ${names.join(",")}`,
    ]);
  });

  test("real tabs work as typed \\t does, and table{{ needs no space", () => {
    expect(formatRows("table{{.ID}}\t{{.Tag}}", rows.slice(0, 1), columns, headerNames)).toEqual(["IMAGE ID      TAG", "79d42a48af8d  latest"]);
  });

  test("a field missing from the rows still gets a header and prints <no value>", () => {
    expect(formatRows("table {{.Nope}}", rows.slice(0, 1), columns)).toEqual(["NOPE", "<no value>"]);
  });
});

describe("formatRows json", () => {
  test("json and {{json .}} print one indented array of the rows, as podman does", () => {
    const want = JSON.stringify(rows, null, 4).split("\n");
    expect(formatRows("json", rows, columns)).toEqual(want);
    expect(formatRows("{{json .}}", rows, columns)).toEqual(want);
    expect(formatRows(" {{ json . }} ", rows, columns)).toEqual(want);
    expect(formatRows("json", [], columns)).toEqual(["[]"]);
  });

  test("{{json .Names}} is a per-row template", () => {
    expect(formatRows("{{json .Names}}", rows, columns)).toEqual([JSON.stringify(names), JSON.stringify(names)]);
  });
});

describe("formatRows row templates", () => {
  test("one line per row, tabs converted, no alignment", () => {
    expect(formatRows("{{.Repository}}\\t{{.Tag}}", rows, columns)).toEqual([
      "127.0.0.1:5055/library/busybox\tlatest",
      "127.0.0.1:5055/library/alpine\tlatest",
    ]);
  });

  test("a format ending in \\n is not double-spaced (podman)", () => {
    expect(formatRows("{{.ID}}\\n", rows, columns)).toEqual(["79d42a48af8d", "79d42a48af8d"]);
  });

  test("a row may print several lines, or an empty one", () => {
    expect(formatRows("{{range .Names}}{{.}}\\n{{end}}", rows.slice(0, 1), columns)).toEqual([...names, ""]);
    expect(formatRows("{{if .Nope}}x{{end}}", rows, columns)).toEqual(["", ""]);
  });

  test("a word that only starts with 'table' is a row template", () => {
    expect(formatRows("tablet {{.Tag}}", rows.slice(0, 1), columns)).toEqual(["tablet latest"]);
  });

  test("no rows, no output", () => {
    expect(formatRows("{{.ID}}", [], columns)).toEqual([]);
  });

  test("errors name the format as typed and the offset in it", () => {
    expect(() => formatRows("table {{.ID", rows, columns)).toThrow(new CtrError('invalid format "table {{.ID": unclosed action at offset 6'));
    expect(() => formatRows("{{.Tag.X}}", rows, columns)).toThrow(
      'invalid format "{{.Tag.X}}": executing <.Tag.X> at offset 2: can\'t evaluate field X in type string',
    );
  });
});

describe("formatObjects", () => {
  const objects = [
    { Id: "a1", Config: { Labels: { x: "<y>" }, Env: ["A=1"] } },
    { Id: "b2", Config: { Labels: {}, Env: [] } },
  ];

  test("undefined and json print the indented array once", () => {
    const want = [JSON.stringify(objects, null, 4)];
    expect(formatObjects(undefined, objects)).toEqual(want);
    expect(formatObjects("json", objects)).toEqual(want);
    expect(formatObjects("{{json .}}", objects)).toEqual(want);
    expect(formatObjects(undefined, [])).toEqual(["[]"]);
  });

  test("a template renders once per object", () => {
    expect(formatObjects("{{.Id}}", objects)).toEqual(["a1", "b2"]);
    expect(formatObjects("{{json .Config}}", objects)).toEqual(['{"Labels":{"x":"<y>"},"Env":["A=1"]}', '{"Labels":{},"Env":[]}']);
    expect(formatObjects("{{.Config.Labels}}", objects)).toEqual(["map[x:<y>]", "map[]"]);
  });

  test("typed \\t and \\n are converted and a final newline is not doubled", () => {
    expect(formatObjects("{{.Id}}\\t{{len .Config.Env}}\\n", objects)).toEqual(["a1\t1", "b2\t0"]);
    expect(formatObjects("{{range .Config.Env}}{{.}}\\n{{end}}", objects)).toEqual(["A=1\n", ""]);
  });

  test("errors name the format", () => {
    expect(() => formatObjects("{{.Id", objects)).toThrow('invalid format "{{.Id": unclosed action at offset 0');
  });
});

describe("headerFromField", () => {
  test("splits at case changes as podman's headers do", () => {
    expect(headerFromField("ID")).toBe("ID");
    expect(headerFromField("Repository")).toBe("REPOSITORY");
    expect(headerFromField("CreatedAt")).toBe("CREATED AT");
    expect(headerFromField("ImageID")).toBe("IMAGE ID");
    expect(headerFromField("HTTPServer")).toBe("HTTP SERVER");
    expect(headerFromField("RunningFor")).toBe("RUNNING FOR");
    expect(headerFromField("Names2")).toBe("NAMES 2");
  });
});

describe("tabwrite", () => {
  test("aligns tab-terminated cells; the last cell of a line is not in a column", () => {
    expect(tabwrite("a\tb\nlonger-than-twelve\tc\n", 12, 2)).toBe("a                   b\nlonger-than-twelve  c\n");
  });

  test("a column ends at a line without a cell in it", () => {
    // line 3 has no tab, so lines 1-2 and 4 are aligned separately, as Go does
    expect(tabwrite("aaaaaaaaaaaaaaaaaaaa\tx\nb\ty\nno tabs here\nc\tz", 4, 1)).toBe(
      "aaaaaaaaaaaaaaaaaaaa x\nb                    y\nno tabs here\nc   z",
    );
  });

  test("counts characters, not bytes", () => {
    expect(tabwrite("é\tx\nab\ty", 1, 1)).toBe("é  x\nab y");
  });

  test("empty cells are padded", () => {
    expect(tabwrite("\t\tx\n", 3, 1)).toBe("      x\n");
  });
});

/**
 * `--format` for list and inspect commands, read as podman reads it (and
 * docker, where they agree): the default table, `table …` templates with
 * headers derived from the field names, `json`, or a Go template rendered
 * once per row. Tables are aligned as podman's Go tabwriter aligns them:
 * cells at least 12 columns wide including 2 spaces of padding.
 *
 * Where podman and docker differ, podman wins and docker's spelling works:
 * - `--format json` and `{{json .}}` print one indented JSON array (docker:
 *   one compact object per line);
 * - a row template gets a newline unless it ends with one (docker always
 *   adds one, so `{{.ID}}\n` double-spaces there);
 * - `table` alone is the default table (podman 4.3 prints the word "table");
 * - in `table` headers, `json`, `join`, `upper`… leave the header as is, as
 *   docker's header functions do (podman 4.3 renders `"NAMES"` or fails);
 * - a field with no header name is headed by its name split at case changes
 *   and upper-cased, as podman does (`CreatedAt` → `CREATED AT`);
 * - in a `table` format a space between actions separates columns like a tab,
 *   as podman reads it (docker prints the space); spaces inside `{{ }}` stay.
 */
import { goJson, parseFormatTemplate } from "./go-template.ts";

/** One column of a list command's default table. */
export interface Column {
  /** The header in the default table, e.g. "IMAGE ID". */
  header: string;
  /** The Go-template field name as docker names it, e.g. "Repository", "ID". */
  field: string;
}

/** podman's tabwriter: `tabwriter.NewWriter(w, 12, 2, 2, ' ', 0)`. */
const MIN_WIDTH = 12;
const PADDING = 2;

/** `json`, `{{json .}}` and `{{ json . }}`, as podman's report.IsJSON matches them. */
const JSON_FORMAT = /^\s*(?:json|\{\{\s*json\s*\.?\s*\}\})\s*$/;

/**
 * Renders rows for a list command.
 *
 * - undefined, "" or "table": the default table of `columns`
 * - "table {{.A}}\t{{.B}}": a table whose header renders the same template
 *   with each field `.X` replaced by its header (`headerNames[X]`, else the
 *   header of the column with that field, else `X` split at case changes and
 *   upper-cased), aligned like podman's tabwriter
 * - "json" or "{{json .}}": one indented JSON array of the rows, as podman prints it
 * - any other template: one rendering per row, each ending in a newline
 *
 * A typed `\t` or `\n` (backslash, letter) in the format's text is a tab or
 * newline, as docker and podman convert them.
 *
 * @param format the `--format` value
 * @param rows one object per row, keyed by Go field name; JSON output is these objects
 * @param columns the default table
 * @param headerNames header for a field in `table` templates, e.g. { ID: "IMAGE ID" }
 * @returns output lines, without newlines
 * @throws CtrError (kind "invalid") for a bad template, naming the format
 *
 * @example
 * formatRows("table {{.ID}}\\t{{.Tag}}", [{ ID: "0123456789ab", Tag: "latest" }], [], { ID: "IMAGE ID" })
 * // ["IMAGE ID      TAG", "0123456789ab  latest"]
 */
export function formatRows(
  format: string | undefined,
  rows: Record<string, unknown>[],
  columns: Column[],
  headerNames: Record<string, string> = {},
): string[] {
  const f = format ?? "";
  if (JSON_FORMAT.test(f)) return goJson(rows, 4).split("\n");

  const table = /^table(?=$|[\s{\\])\s*/.exec(f);
  if (f.trim() === "" || (table && f.slice(table[0].length).trim() === "")) {
    const body = columns.map((c) => `{{.${c.field}}}`).join("\t");
    const header = columns.map((c) => c.header.replaceAll("\t", " ")).join("\t");
    const t = parseFormatTemplate(body, { displayed: f });
    return lines(tabwrite(`${header}\n${rows.map((r) => `${t.render(r)}\n`).join("")}`));
  }

  const offset = table ? table[0].length : 0;
  const body = f.slice(offset);
  const t = parseFormatTemplate(body, { textEscapes: true, tableSpaces: table !== null, displayed: f, offset });
  const newline = /(\n|\\n)$/.test(body) ? "" : "\n";
  let text = rows.map((r) => t.render(r) + newline).join("");
  if (table) {
    const name = (field: string) =>
      headerNames[field] ?? columns.find((c) => c.field === field)?.header ?? headerFromField(field);
    text = tabwrite(t.renderHeader(name) + newline + text);
  }
  return lines(text);
}

/**
 * For `inspect -f`/`--format`: one rendering per object, for the caller to
 * print each on its own line; undefined, "", "json" or "{{json .}}" give a
 * single element, the indented JSON array of all objects, as docker and
 * podman print `inspect`.
 *
 * A typed `\t` or `\n` in the format's text is a tab or newline (podman); a
 * format that ends in a newline does not double it (podman).
 *
 * @throws CtrError (kind "invalid") for a bad template, naming the format
 *
 * @example
 * formatObjects("{{.Id}}", [{ Id: "a" }, { Id: "b" }]) // ["a", "b"]
 */
export function formatObjects(format: string | undefined, objects: unknown[]): string[] {
  const f = format ?? "";
  if (f.trim() === "" || JSON_FORMAT.test(f)) return [goJson(objects, 4)];
  const t = parseFormatTemplate(f, { textEscapes: true });
  const endsInNewline = /(\n|\\n)$/.test(f);
  return objects.map((o) => {
    const s = t.render(o);
    return endsInNewline && s.endsWith("\n") ? s.slice(0, -1) : s;
  });
}

function lines(text: string): string[] {
  const out = text.split("\n");
  if (out[out.length - 1] === "") out.pop();
  return out;
}

/**
 * podman's header for a field without one: split where the letter case or
 * class changes (`CreatedAt` → `Created At`, `ImageID` → `Image ID`), upper-cased.
 */
export function headerFromField(field: string): string {
  const classOf = (c: string) => (/\p{Ll}/u.test(c) ? "l" : /\p{Lu}/u.test(c) ? "u" : /\p{Nd}/u.test(c) ? "d" : "o");
  const runs: string[][] = [];
  let last = "";
  for (const c of field) {
    const k = classOf(c);
    if (k === last && runs.length > 0) runs[runs.length - 1]!.push(c);
    else runs.push([c]);
    last = k;
  }
  // An upper-case run followed by lower case gives its last letter to the next word: "HTTPServer" → "HTTP Server".
  for (let i = 0; i < runs.length - 1; i++) {
    const cur = runs[i]!;
    const next = runs[i + 1]!;
    if (classOf(cur[0]!) === "u" && classOf(next[0]!) === "l") next.unshift(cur.pop()!);
  }
  return runs
    .filter((r) => r.length > 0)
    .map((r) => r.join(""))
    .join(" ")
    .toUpperCase();
}

/**
 * Aligns tab-separated cells as Go's text/tabwriter does (left-aligned,
 * padded with spaces): a column is a run of consecutive lines that have a
 * tab-terminated cell at that position, as wide as its widest cell plus
 * padding and at least the minimum width; a line's last cell is not part of
 * any column. Widths count characters (runes), as Go does.
 */
export function tabwrite(text: string, minWidth = MIN_WIDTH, padding = PADDING): string {
  const cells = text.split("\n").map((l) => l.split("\t"));
  const out: string[] = [];
  const runes = (s: string) => [...s].length;

  const writeLines = (widths: number[], from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const line = cells[i]!;
      out.push(line.map((c, j) => (j < widths.length ? c + " ".repeat(Math.max(0, widths[j]! - runes(c))) : c)).join(""));
    }
  };

  const format = (widths: number[], line0: number, line1: number) => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= cells[t]!.length - 1) continue;
      // A block of lines with a cell in this column starts here.
      writeLines(widths, line0, t);
      line0 = t;
      let width = minWidth;
      for (; t < line1; t++) {
        const line = cells[t]!;
        if (column >= line.length - 1) break;
        width = Math.max(width, runes(line[column]!) + padding);
      }
      format([...widths, width], line0, t);
      line0 = t;
    }
    writeLines(widths, line0, line1);
  };

  format([], 0, cells.length);
  return out.join("\n");
}

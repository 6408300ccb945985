/**
 * The subset of Go's text/template that docker and podman users put in
 * `--format`, and Go's rules for printing values (`fmt`'s %v, `printf`,
 * `encoding/json`).
 *
 * Supported: text and `{{ }}` actions with `{{-`/`-}}` trim markers and
 * `{{/* comments *\/}}`; `.`, `$`, field chains `.A.B` (also on variables and
 * parenthesized pipelines); variables (`$x := …`, `$x = …`); pipelines
 * `a | b`; `if`/`else if`/`else with`/`else`/`end`, `with`, `range` (arrays,
 * maps in sorted key order, integers) with `$i, $e :=`, `{{else}}`,
 * `{{break}}`, `{{continue}}`; literals (strings with Go escapes, raw strings,
 * characters, numbers, `true`, `false`, `nil`). Functions: Go's builtins
 * (`and or not len index slice print printf println eq ne lt le gt ge html js
 * urlquery call`) and the ones docker and podman register (`json split join
 * title lower upper pad truncate`). `define`, `template` and `block` are not.
 *
 * Data is plain JSON-like JS: objects are Go maps (`map[k:v]`, keys sorted),
 * arrays are slices (`[a b]`), `undefined` is Go's "no value" and `null` is
 * nil. A function-valued property is a method: `{{.Label "x"}}` calls it.
 * Where Go would stop with an error but the JS value cannot say which Go type
 * it stands for, this module takes the lenient reading, and says so:
 * - a missing field prints `<no value>` (podman errors "can't evaluate field"
 *   on a struct; a map gives `<no value>`, and objects here are maps);
 * - a field of `null` or of a missing value is a missing value (Go: "nil
 *   pointer evaluating …");
 * - `null` passed where a string is expected is "" and where a list is
 *   expected is `[]` (JSON's null for Go's nil slices and empty strings);
 * - `index` of a missing map key is "" when the map's values are strings
 *   (Go's zero value for `map[string]string`, what label scripts expect), else nil;
 * - integers and non-integers are one kind, so `eq 1 1.0` is true and
 *   `printf "%.1f" 3` prints 3.0 (Go: `%!f(int=3)`), and a float literal with
 *   an integral value (`{{1e6}}`) prints as an integer.
 */
import { CtrError } from "../../errors.ts";

// ---------------------------------------------------------------------------
// Public API

/**
 * Compiles a Go text/template into a render function.
 *
 * @param source the template as the user typed it
 * @returns a function rendering one value (both `.` and `$`) to text
 * @throws CtrError (kind "invalid") naming the template and the offset of the
 *   problem, e.g. `invalid format "{{.Foo": unclosed action at offset 0`. The
 *   render function throws the same way for execution errors, e.g.
 *   `invalid format "{{index .A 5}}": executing <index .A 5> at offset 2: error calling index: index out of range: 5`
 *
 * @example
 * compileTemplate('{{.Name}}: {{join .Tags ","}}')({ Name: "a", Tags: ["x", "y"] }) // "a: x,y"
 */
export function compileTemplate(source: string): (data: unknown) => string {
  const t = parseFormatTemplate(source);
  return (data) => t.render(data);
}

/** How `parseFormatTemplate` reads a `--format` argument. */
export interface TemplateOptions {
  /**
   * Turn a typed `\t` or `\n` (backslash, letter) in the template's text into
   * a tab or newline, as docker and podman do for `--format`. Only text
   * outside actions is converted, so `{{join .Names "\n"}}` keeps Go's escape.
   */
  textEscapes?: boolean;
  /** Turn spaces in the template's text into tabs, as podman reads a `table` format. */
  tableSpaces?: boolean;
  /** The format as the user typed it, for error messages (default: `source`). */
  displayed?: string;
  /** Where `source` starts inside `displayed`, so offsets name the typed text. */
  offset?: number;
}

/** A parsed template: rows render with `render`, `table` headers with `renderHeader`. */
export interface FormatTemplate {
  render(data: unknown): string;
  /**
   * Renders the template with every field `.X` replaced by `header("X")`, as
   * docker renders a `table` header: `json`, `split`, `join`, `title`,
   * `lower`, `upper`, `truncate`, `index` and `slice` pass the header through
   * unchanged, so `{{.Names | join ","}}` heads its column with `NAMES`.
   */
  renderHeader(header: (field: string) => string): string;
}

/**
 * Parses a template for `output.ts`; see `compileTemplate`.
 *
 * @throws CtrError (kind "invalid") naming `opts.displayed` and the offset
 */
export function parseFormatTemplate(source: string, opts: TemplateOptions = {}): FormatTemplate {
  const errs = new Errors(opts.displayed ?? source, opts.offset ?? 0, source);
  const tokens = lex(source, { escapes: opts.textEscapes ?? false, spaces: opts.tableSpaces ?? false }, errs);
  const nodes = new Parser(tokens, errs).parseTemplate();
  return {
    render: (data) => new Exec(errs, false).run(nodes, data),
    renderHeader: (header) => new Exec(errs, true).run(nodes, new HeaderData(header)),
  };
}

/**
 * Go's `encoding/json` as docker's and podman's `json` function writes it:
 * compact (or indented by `indent` spaces, as `json.MarshalIndent`), no
 * trailing newline, `<>&` not escaped (both tools turn HTML escaping off),
 * U+2028/U+2029 escaped as Go always does, `undefined` as `null`, dates in
 * RFC 3339 as Go marshals `time.Time`.
 */
export function goJson(value: unknown, indent?: number): string {
  const text = jsonText(value, "", indent === undefined ? "" : " ".repeat(indent), "\n") ?? "null";
  return text.replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/**
 * Fields of docker's and podman's inspect structs that are Go maps, whose
 * keys encoding/json writes sorted. Anything else keeps its declared order
 * (Go writes struct fields in declaration order) unless it is a map by
 * {@link isGoMap}.
 */
const GO_MAP_FIELDS = new Set([
  ...["Labels", "Annotations", "Options", "DriverOpts", "ExposedPorts", "Volumes", "Ports", "Networks", "Containers", "Data", "Sysctls", "StorageOpt", "Tmpfs"],
  // podman's network inspect spells its fields in lower case.
  ...["labels", "options", "containers", "ipam_options"],
]);

/** Objects a template reached through a {@link GO_MAP_FIELDS} field (`{{json .Config.Labels}}`). */
const reachedAsMap = new WeakSet<object>();

/**
 * Whether `o`, found under `field`, is a Go map rather than a struct. A
 * struct's fields are identifiers; a key that is not (`80/tcp`,
 * `com.example.x`, `/data`) can only be a map's. A map whose keys all look
 * like identifiers is known only by its field's name.
 */
function isGoMap(o: object, field: string): boolean {
  return reachedAsMap.has(o) || GO_MAP_FIELDS.has(field) || Object.keys(o).some((k) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k));
}

/**
 * JSON.stringify's output (same spacing, `toJSON`, skipped undefined
 * members, null for non-finite numbers) with Go's order: map keys sorted
 * bytewise, integer-like ones included (a JS object puts those first),
 * dates as RFC 3339. Undefined when `v` has no JSON form.
 */
function jsonText(v: unknown, field: string, indent: string, nl: string): string | undefined {
  if (v instanceof Date) return JSON.stringify(v.toISOString().replace(/\.?0*Z$/, "Z"));
  if (v !== null && typeof v === "object" && typeof (v as { toJSON?: unknown }).toJSON === "function") v = (v as { toJSON(): unknown }).toJSON();
  if (typeof v === "bigint") v = Number(v);
  if (v === null || typeof v === "string" || typeof v === "boolean") return JSON.stringify(v);
  if (typeof v === "number") return Number.isFinite(v) ? JSON.stringify(v) : "null";
  if (typeof v !== "object") return undefined;
  const inner = nl + indent;
  const wrap = (open: string, parts: string[], close: string) =>
    parts.length === 0 ? open + close : indent === "" ? open + parts.join(",") + close : open + inner + parts.join("," + inner) + nl + close;
  const deeper = indent === "" ? nl : inner;
  if (Array.isArray(v)) return wrap("[", v.map((x) => jsonText(x, "", indent, deeper) ?? "null"), "]");
  const o = v as Record<string, unknown>;
  const map = isGoMap(o, field);
  const parts: string[] = [];
  for (const k of map ? sortedKeys(o) : Object.keys(o)) {
    const text = jsonText(o[k], map ? "" : k, indent, deeper);
    if (text !== undefined) parts.push(JSON.stringify(k) + (indent === "" ? ":" : ": ") + text);
  }
  return wrap("{", parts, "}");
}

/** Go's `fmt.Sprint` of one value (`%v`): `[a b]`, `map[k:v]`, `<nil>`, `1.5e+06`. */
export function goString(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  switch (typeof v) {
    case "string":
      return v;
    case "number":
      return isGoInt(v) ? intText(v) : floatText(v, "g", undefined);
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return v.toString();
    case "function":
      return "<func>";
  }
  if (Array.isArray(v)) return `[${v.map(goString).join(" ")}]`;
  if (v instanceof Date) return goTime(v);
  if (v instanceof HeaderData) return "";
  // Methods (function-valued properties) are not map entries, as JSON skips them too.
  const o = v as Record<string, unknown>;
  const keys = sortedKeys(o).filter((k) => typeof o[k] !== "function");
  return `map[${keys.map((k) => `${k}:${goString(o[k])}`).join(" ")}]`;
}

/** Go's `fmt.Sprintf` for the verbs templates use; bad verbs and missing or extra arguments print as Go prints them. */
export function goSprintf(format: string, args: unknown[]): string {
  let out = "";
  let argi = 0;
  let i = 0;
  const n = format.length;
  while (i < n) {
    const pct = format.indexOf("%", i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const f: Flags = { minus: false, plus: false, sharp: false, space: false, zero: false };
    flags: for (; i < n; i++) {
      switch (format[i]) {
        case "-":
          f.minus = true;
          f.zero = false; // Go pads with zeros only on the left
          break;
        case "+":
          f.plus = true;
          break;
        case "#":
          f.sharp = true;
          break;
        case " ":
          f.space = true;
          break;
        case "0":
          f.zero = !f.minus;
          break;
        default:
          break flags;
      }
    }
    if (format[i] === "*") {
      i++;
      const w = args[argi++];
      if (argi > args.length || typeof w !== "number" || !Number.isInteger(w)) out += "%!(BADWIDTH)";
      else if (w < 0) {
        f.minus = true;
        f.zero = false;
        f.width = -w;
      } else f.width = w;
    } else {
      const m = /^\d+/.exec(format.slice(i));
      if (m) {
        f.width = Number(m[0]);
        i += m[0].length;
      }
    }
    if (format[i] === ".") {
      i++;
      if (format[i] === "*") {
        i++;
        const p = args[argi++];
        if (argi > args.length || typeof p !== "number" || !Number.isInteger(p)) out += "%!(BADPREC)";
        else if (p >= 0) f.prec = p;
      } else {
        const m = /^\d*/.exec(format.slice(i))![0];
        f.prec = m === "" ? 0 : Number(m);
        i += m.length;
      }
    }
    if (i >= n) {
      out += "%!(NOVERB)";
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += fmtArg(args[argi++], verb, f);
  }
  if (argi < args.length) {
    out += `%!(EXTRA ${args
      .slice(argi)
      .map((a) => (a == null ? "<nil>" : `${goTypeName(a)}=${goString(a)}`))
      .join(", ")})`;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Errors

class Errors {
  constructor(
    readonly displayed: string,
    readonly offset: number,
    readonly source: string,
  ) {}

  /** A parse error: `invalid format "…": <what> at offset N`. */
  parse(what: string, pos: number): never {
    throw new CtrError(`invalid format ${JSON.stringify(this.displayed)}: ${what} at offset ${pos + this.offset}`, { kind: "invalid" });
  }

  /** An execution error, naming the action text as Go does (`executing <…>`). */
  exec(node: Span, what: string): never {
    const text = this.source.slice(node.pos, node.end).trimEnd();
    throw new CtrError(`invalid format ${JSON.stringify(this.displayed)}: executing <${text}> at offset ${node.pos + this.offset}: ${what}`, {
      kind: "invalid",
    });
  }
}

/** Thrown by a builtin; the executor adds `error calling <name>` and the position. */
class FuncError extends Error {}

// ---------------------------------------------------------------------------
// Lexer

type TokenType =
  | "text"
  | "left"
  | "right"
  | "space"
  | "ident"
  | "keyword"
  | "field"
  | "var"
  | "dot"
  | "string"
  | "char"
  | "number"
  | "bool"
  | "nil"
  | "pipe"
  | "lparen"
  | "rparen"
  | "comma"
  | "declare"
  | "assign"
  | "eof";

interface Token {
  type: TokenType;
  /** The source text, or for "text" the text after escapes and trimming. */
  val: string;
  pos: number;
  end: number;
}

const KEYWORDS = new Set(["if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"]);

const isSpace = (c: string | undefined): boolean => c === " " || c === "\t" || c === "\r" || c === "\n";
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isAlnum = (c: string | undefined): boolean => c !== undefined && /^[\p{L}\p{Nd}_]$/u.test(c);

/** Go's `%#U` of a character, for "bad character" messages. */
function goRune(c: string): string {
  const cp = c.codePointAt(0)!;
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")} ${quoteWith(c, "'", false)}`;
}

function lex(src: string, text: { escapes: boolean; spaces: boolean }, errs: Errors): Token[] {
  const toks: Token[] = [];
  const n = src.length;
  let i = 0;
  let trimNext = false;
  /** At a right delimiter with trim marker (" -}}")? */
  const atTrimRight = (k: number) => isSpace(src[k]) && src[k + 1] === "-" && src.startsWith("}}", k + 2);
  for (;;) {
    const open = src.indexOf("{{", i);
    let val = src.slice(i, open < 0 ? n : open);
    // podman converts the escapes before Go trims, so `\n{{- .X}}` trims the newline
    if (text.escapes) val = val.replaceAll("\\t", "\t").replaceAll("\\n", "\n");
    if (text.spaces) val = val.replaceAll(" ", "\t");
    if (trimNext) val = val.replace(/^[ \t\r\n]+/, "");
    trimNext = false;
    if (open < 0) {
      if (val) toks.push({ type: "text", val, pos: i, end: n });
      break;
    }
    const trimLeft = src[open + 2] === "-" && isSpace(src[open + 3]);
    if (trimLeft) val = val.replace(/[ \t\r\n]+$/, "");
    if (val) toks.push({ type: "text", val, pos: i, end: open });
    let j = open + 2 + (trimLeft ? 2 : 0);

    if (src.startsWith("/*", j)) {
      const close = src.indexOf("*/", j + 2);
      if (close < 0) errs.parse("unclosed comment", open);
      let k = close + 2;
      if (atTrimRight(k)) {
        trimNext = true;
        k += 4;
      } else if (src.startsWith("}}", k)) k += 2;
      else errs.parse("comment ends before closing delimiter", open);
      i = k;
      continue;
    }

    toks.push({ type: "left", val: "{{", pos: open, end: j });
    let depth = 0;
    for (;;) {
      if (j >= n) errs.parse("unclosed action", open);
      const c = src[j]!;
      const push = (type: TokenType, end: number) => {
        toks.push({ type, val: src.slice(j, end), pos: j, end });
        j = end;
      };
      /** Go requires a terminator after identifiers, fields and variables. */
      const terminated = (k: number) => {
        const t = src[k];
        if (t === undefined || isSpace(t) || ".,|:()".includes(t) || src.startsWith("}}", k)) return;
        errs.parse(`bad character ${goRune(String.fromCodePoint(src.codePointAt(k)!))}`, k);
      };
      const rightDelim = atTrimRight(j) ? 4 : src.startsWith("}}", j) ? 2 : 0;
      if (rightDelim) {
        if (depth > 0) errs.parse("unclosed left paren", j);
        toks.push({ type: "right", val: src.slice(j, j + rightDelim), pos: j, end: j + rightDelim });
        trimNext = rightDelim === 4;
        i = j + rightDelim;
        break;
      }
      if (isSpace(c)) {
        let k = j;
        while (isSpace(src[k]) && !atTrimRight(k)) k++;
        push("space", k);
      } else if (c === "=") push("assign", j + 1);
      else if (c === ":") {
        if (src[j + 1] !== "=") errs.parse("expected :=", j);
        push("declare", j + 2);
      } else if (c === "|") push("pipe", j + 1);
      else if (c === '"' || c === "'") {
        let k = j + 1;
        while (src[k] !== c) {
          if (k >= n || src[k] === "\n") errs.parse(c === '"' ? "unterminated quoted string" : "unterminated character constant", j);
          k += src[k] === "\\" ? 2 : 1;
        }
        push(c === '"' ? "string" : "char", k + 1);
      } else if (c === "`") {
        const close = src.indexOf("`", j + 1);
        if (close < 0) errs.parse("unterminated raw quoted string", j);
        push("string", close + 1);
      } else if (c === "$") {
        let k = j + 1;
        while (isAlnum(src[k])) k++;
        terminated(k);
        push("var", k);
      } else if (c === "." && !isDigit(src[j + 1])) {
        let k = j + 1;
        while (isAlnum(src[k])) k++;
        terminated(k);
        push(k === j + 1 ? "dot" : "field", k);
      } else if (c === "+" || c === "-" || c === "." || isDigit(c)) {
        const m = /^[+-]?(?:0[xX][\da-fA-F_]*(?:\.[\da-fA-F_]*)?(?:[pP][+-]?[\d_]+)?|0[oObB][\d_]*|[\d_]*(?:\.[\d_]*)?(?:[eE][+-]?[\d_]+)?)i?/.exec(src.slice(j))!;
        const k = j + m[0].length;
        if (isAlnum(src[k]) || !/\d/.test(m[0])) errs.parse(`bad number syntax: ${JSON.stringify(src.slice(j, isAlnum(src[k]) ? k + 1 : k))}`, j);
        push("number", k);
      } else if (isAlnum(c)) {
        let k = j;
        while (isAlnum(src[k])) k++;
        terminated(k);
        const word = src.slice(j, k);
        push(KEYWORDS.has(word) ? "keyword" : word === "true" || word === "false" ? "bool" : word === "nil" ? "nil" : "ident", k);
      } else if (c === "(") {
        depth++;
        push("lparen", j + 1);
      } else if (c === ")") {
        depth--;
        if (depth < 0) errs.parse('unexpected ")"', j);
        push("rparen", j + 1);
      } else if (c === ",") push("comma", j + 1);
      else errs.parse(`unrecognized character in action: ${goRune(String.fromCodePoint(src.codePointAt(j)!))}`, j);
    }
  }
  toks.push({ type: "eof", val: "", pos: n, end: n });
  return toks;
}

/** Go's strconv.Unquote for "…" and '…' literals; undefined when malformed. */
function unquote(raw: string): string | undefined {
  const q = raw[0];
  const body = raw.slice(1, -1);
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\" };
    if (e === undefined) return undefined;
    if (simple[e] !== undefined) out += simple[e];
    else if (e === q) out += e;
    else if (e === "x" || e === "u" || e === "U") {
      const len = e === "x" ? 2 : e === "u" ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) return undefined;
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff && e !== "x")) return undefined;
      out += String.fromCodePoint(cp);
      i += len;
    } else if (e >= "0" && e <= "7") {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) return undefined;
      out += String.fromCharCode(parseInt(oct, 8));
      i += 2;
    } else return undefined;
  }
  return out;
}

/** A Go number literal's value; undefined when Go's parser would reject it. */
function parseNumber(text: string): number | undefined {
  let t = text.replaceAll("_", "");
  let sign = 1;
  if (t[0] === "+" || t[0] === "-") {
    if (t[0] === "-") sign = -1;
    t = t.slice(1);
  }
  let v: number;
  if (/^0[xX][\da-fA-F]+$/.test(t)) v = parseInt(t.slice(2), 16);
  else if (/^0[oO][0-7]+$/.test(t)) v = parseInt(t.slice(2), 8);
  else if (/^0[bB][01]+$/.test(t)) v = parseInt(t.slice(2), 2);
  else if (/^0[0-7]+$/.test(t)) v = parseInt(t.slice(1), 8);
  else if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) v = Number(t);
  else return undefined;
  return sign * v;
}

// ---------------------------------------------------------------------------
// Parser

interface Span {
  pos: number;
  end: number;
}

type Arg = Span &
  (
    | { kind: "field"; names: string[] }
    | { kind: "var"; name: string; names: string[] }
    | { kind: "chain"; node: Arg; names: string[] }
    | { kind: "dot" }
    | { kind: "nil" }
    | { kind: "ident"; name: string }
    | { kind: "pipe"; pipe: Pipe }
    | { kind: "literal"; value: string | number | boolean }
  );

interface Cmd extends Span {
  args: Arg[];
}

interface Pipe extends Span {
  decl: string[];
  isAssign: boolean;
  cmds: Cmd[];
}

type Node =
  | { kind: "text"; text: string }
  | { kind: "action"; pipe: Pipe }
  | { kind: "if" | "with" | "range"; pipe: Pipe; list: Node[]; elseList: Node[] | null }
  | { kind: "break" | "continue" };

/** How an item list ended: `{{end}}`, `{{else}}` (maybe `{{else if …}}`), or the end of the template. */
type ListEnd = { stop: "end" } | { stop: "else"; chained: "if" | "with" | null; pos: number } | { stop: "eof" };

const EOF: Token = { type: "eof", val: "", pos: 0, end: 0 };

class Parser {
  private i = 0;
  private vars: string[] = ["$"];
  private rangeDepth = 0;

  constructor(
    private readonly toks: Token[],
    private readonly errs: Errors,
  ) {}

  parseTemplate(): Node[] {
    return this.itemList(null).nodes;
  }

  private next(): Token {
    return this.toks[this.i++] ?? this.toks[this.toks.length - 1] ?? EOF;
  }
  private peek(): Token {
    return this.toks[this.i] ?? this.toks[this.toks.length - 1] ?? EOF;
  }
  private backup(): void {
    this.i--;
  }
  private nextNonSpace(): Token {
    let t: Token;
    do t = this.next();
    while (t.type === "space");
    return t;
  }
  private peekNonSpace(): Token {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  /** Nodes until `{{end}}`/`{{else}}` (inside a control structure `open`) or the end. */
  private itemList(open: { kind: string; pos: number } | null): { nodes: Node[]; end: ListEnd } {
    const nodes: Node[] = [];
    for (;;) {
      const t = this.next();
      if (t.type === "eof") {
        if (open) this.errs.parse(`unclosed {{${open.kind}}}: missing {{end}}`, open.pos);
        return { nodes, end: { stop: "eof" } };
      }
      if (t.type === "text") {
        nodes.push({ kind: "text", text: t.val });
        continue;
      }
      const r = this.action(t);
      if ("stop" in r) {
        if (!open) this.errs.parse(`unexpected {{${r.stop}}}`, t.pos);
        return { nodes, end: r };
      }
      nodes.push(r);
    }
  }

  /** After `{{`: a control structure, a marker for `{{end}}`/`{{else}}`, or an action. */
  private action(left: Token): Node | ListEnd {
    const t = this.nextNonSpace();
    if (t.type === "keyword") {
      switch (t.val) {
        case "end":
          this.expectRight("end");
          return { stop: "end" };
        case "else": {
          const k = this.peekNonSpace();
          if (k.type === "keyword" && (k.val === "if" || k.val === "with")) {
            this.nextNonSpace();
            return { stop: "else", chained: k.val, pos: left.pos };
          }
          this.expectRight("else");
          return { stop: "else", chained: null, pos: left.pos };
        }
        case "if":
        case "with":
        case "range":
          return this.control(t.val, left.pos);
        case "break":
        case "continue":
          if (this.rangeDepth === 0) this.errs.parse(`{{${t.val}}} outside {{range}}`, left.pos);
          this.expectRight(t.val);
          return { kind: t.val };
        default:
          this.errs.parse(`{{${t.val}}} is not supported`, left.pos);
      }
    }
    this.backup();
    return { kind: "action", pipe: this.pipeline("command", "right") };
  }

  private expectRight(context: string): void {
    const t = this.nextNonSpace();
    if (t.type !== "right") this.errs.parse(`unexpected ${describe(t)} in ${context}`, t.pos);
  }

  private control(kind: "if" | "with" | "range", pos: number): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(kind, "right");
    if (kind === "range") this.rangeDepth++;
    const body = this.itemList({ kind, pos });
    if (kind === "range") this.rangeDepth--;
    let elseList: Node[] | null = null;
    if (body.end.stop === "else") {
      if (body.end.chained) {
        // `{{else if …}}` is `{{else}}{{if …}}…{{end}}` sharing the outer {{end}}
        elseList = [this.control(body.end.chained, body.end.pos)];
      } else {
        const rest = this.itemList({ kind, pos });
        if (rest.end.stop === "else") this.errs.parse(`expected {{end}}; found {{else}}`, rest.end.pos);
        elseList = rest.nodes;
      }
    }
    this.vars.length = mark;
    return { kind, pipe, list: body.nodes, elseList };
  }

  private pipeline(context: string, end: "right" | "rparen"): Pipe {
    const pipe: Pipe = { pos: this.peekNonSpace().pos, end: 0, decl: [], isAssign: false, cmds: [] };
    // Declarations: `$x :=`, `$x =`, and in range `$i, $e :=`.
    for (;;) {
      if (this.peekNonSpace().type !== "var") break;
      const save = this.i;
      const v = this.nextNonSpace();
      const next = this.peekNonSpace();
      if (next.type === "declare" || next.type === "assign") {
        this.nextNonSpace();
        pipe.decl.push(v.val);
        pipe.isAssign = next.type === "assign";
        for (const name of pipe.decl) {
          if (pipe.isAssign && !this.vars.includes(name)) this.errs.parse(`undefined variable "${name}"`, v.pos);
          if (!pipe.isAssign) this.vars.push(name);
        }
        break;
      }
      if (next.type === "comma") {
        if (context !== "range" || pipe.decl.length > 0) this.errs.parse(`too many declarations in ${context}`, next.pos);
        this.nextNonSpace();
        pipe.decl.push(v.val);
        if (this.peekNonSpace().type !== "var") this.errs.parse("range can only initialize variables", this.peekNonSpace().pos);
        continue;
      }
      if (pipe.decl.length > 0) this.errs.parse(`missing := in ${context}`, next.pos);
      this.i = save;
      break;
    }
    let afterPipe = false;
    for (;;) {
      const t = this.nextNonSpace();
      if (t.type === end) {
        if (afterPipe) this.errs.parse("missing command after |", t.pos);
        this.checkPipeline(pipe, context);
        pipe.end = t.pos;
        return pipe;
      }
      switch (t.type) {
        case "bool":
        case "char":
        case "dot":
        case "field":
        case "ident":
        case "number":
        case "nil":
        case "string":
        case "var":
        case "lparen": {
          this.backup();
          const cmd = this.command();
          pipe.cmds.push(cmd);
          afterPipe = this.toks[this.i - 1]?.type === "pipe";
          break;
        }
        default:
          this.errs.parse(`unexpected ${describe(t)} in ${context}`, t.pos);
      }
    }
  }

  private checkPipeline(pipe: Pipe, context: string): void {
    if (pipe.cmds.length === 0) this.errs.parse(`missing value for ${context}`, pipe.pos);
    pipe.cmds.forEach((c, i) => {
      const k = c.args[0]?.kind;
      if (i > 0 && (k === "literal" || k === "dot" || k === "nil")) this.errs.parse(`non executable command in pipeline stage ${i + 1}`, c.pos);
    });
  }

  private command(): Cmd {
    const cmd: Cmd = { pos: this.peekNonSpace().pos, end: 0, args: [] };
    for (;;) {
      this.peekNonSpace(); // skips spaces
      const op = this.operand();
      if (op) cmd.args.push(op);
      const t = this.next();
      if (t.type === "space") continue;
      if (t.type === "right" || t.type === "rparen") this.backup();
      else if (t.type !== "pipe") this.errs.parse(`unexpected ${describe(t)} in operand`, t.pos);
      break;
    }
    if (cmd.args.length === 0) this.errs.parse("empty command", cmd.pos);
    cmd.end = cmd.args[cmd.args.length - 1]!.end;
    return cmd;
  }

  private operand(): Arg | null {
    const t = this.term();
    if (!t || this.peek().type !== "field") return t;
    const names: string[] = [];
    let end = t.end;
    while (this.peek().type === "field") {
      const f = this.next();
      names.push(f.val.slice(1));
      end = f.end;
    }
    switch (t.kind) {
      case "field":
      case "var":
        return { ...t, names: [...t.names, ...names], end };
      case "literal":
      case "nil":
      case "dot":
        return this.errs.parse(`unexpected . after term ${JSON.stringify(this.errs.source.slice(t.pos, t.end))}`, t.end);
      default:
        return { kind: "chain", node: t, names, pos: t.pos, end };
    }
  }

  private term(): Arg | null {
    const t = this.nextNonSpace();
    const span = { pos: t.pos, end: t.end };
    switch (t.type) {
      case "ident":
        if (!FUNCS.has(t.val)) this.errs.parse(`function "${t.val}" not defined`, t.pos);
        return { kind: "ident", name: t.val, ...span };
      case "dot":
        return { kind: "dot", ...span };
      case "nil":
        return { kind: "nil", ...span };
      case "var":
        if (!this.vars.includes(t.val)) this.errs.parse(`undefined variable "${t.val}"`, t.pos);
        return { kind: "var", name: t.val, names: [], ...span };
      case "field":
        return { kind: "field", names: [t.val.slice(1)], ...span };
      case "bool":
        return { kind: "literal", value: t.val === "true", ...span };
      case "number": {
        if (t.val.endsWith("i")) this.errs.parse(`complex number ${t.val} is not supported`, t.pos);
        const v = parseNumber(t.val);
        if (v === undefined) this.errs.parse(`bad number syntax: ${JSON.stringify(t.val)}`, t.pos);
        return { kind: "literal", value: v, ...span };
      }
      case "char": {
        const s = unquote(t.val);
        if (s === undefined || [...s].length !== 1) this.errs.parse(`malformed character constant: ${t.val}`, t.pos);
        return { kind: "literal", value: s.codePointAt(0)!, ...span };
      }
      case "string": {
        const s = t.val[0] === "`" ? t.val.slice(1, -1) : unquote(t.val);
        if (s === undefined) this.errs.parse(`invalid escape in string ${t.val}`, t.pos);
        return { kind: "literal", value: s, ...span };
      }
      case "lparen": {
        const pipe = this.pipeline("parenthesized pipeline", "rparen");
        return { kind: "pipe", pipe, pos: t.pos, end: this.toks[this.i - 1]!.end };
      }
    }
    this.backup();
    return null;
  }
}

function describe(t: Token): string {
  return t.type === "eof" ? "EOF" : JSON.stringify(t.val);
}

// ---------------------------------------------------------------------------
// Values

/** The data of a `table` header: every field is its column's header. */
class HeaderData {
  constructor(readonly name: (field: string) => string) {}
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof HeaderData);
}

/** Go's byte order for map keys (UTF-16 order differs only beyond the BMP). */
function sortedKeys(o: Record<string, unknown>): string[] {
  return Object.keys(o).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A property or method of an object, ignoring what every object inherits. */
function lookup(o: object, name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(o, name)) return (o as Record<string, unknown>)[name];
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null && name in o && !(name in Object.prototype)) return (o as Record<string, unknown>)[name];
  return undefined;
}

/** The Go type a JS value stands for, as Go's messages name it. */
function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  switch (typeof v) {
    case "string":
      return "string";
    case "number":
      return isGoInt(v) ? "int" : "float64";
    case "bigint":
      return "int";
    case "boolean":
      return "bool";
    case "function":
      return "func";
  }
  if (Array.isArray(v)) return "[]interface {}";
  if (v instanceof Date) return "time.Time";
  return "map[string]interface {}";
}

/** Go's template truth: false, 0, nil, and empty strings, slices and maps are false. */
function isTrue(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  switch (typeof v) {
    case "boolean":
      return v;
    case "number":
      return v !== 0;
    case "bigint":
      return v !== 0n;
    case "string":
      return v.length > 0;
    case "function":
      return true;
  }
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder();

/** Go's time.Time String() in UTC: `2006-01-02 15:04:05.999999999 +0000 UTC`. */
function goTime(d: Date): string {
  const iso = d.toISOString();
  const frac = iso.slice(19, 23).replace(/\.?0+$/, "");
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac} +0000 UTC`;
}


// ---------------------------------------------------------------------------
// Number formatting (Go's strconv rules)

/** A decimal: value = 0.d1d2d3… × 10^dp; no leading or trailing zeros ("" is zero). */
interface Decimal {
  d: string;
  dp: number;
}

function trimDecimal(digits: string, dp: number): Decimal {
  const lead = /^0*/.exec(digits)![0].length;
  const d = digits.slice(lead).replace(/0+$/, "");
  return d === "" ? { d: "", dp: 0 } : { d, dp: dp - lead };
}

/** The exact decimal expansion of |x| (to 100 fraction digits, enough for any rounding we do). */
function exactDecimal(x: number): Decimal {
  x = Math.abs(x);
  if (x === 0) return { d: "", dp: 0 };
  if (x >= 1e21) {
    const s = BigInt(x).toString();
    return trimDecimal(s, s.length);
  }
  const [int = "", frac = ""] = x.toFixed(100).split(".");
  return trimDecimal(int + frac, int.length);
}

/** The shortest digits that read back as |x|, as Go's and JS's shortest formatting agree. */
function shortestDecimal(x: number): Decimal {
  x = Math.abs(x);
  if (x === 0) return { d: "", dp: 0 };
  const [mant = "", exp = "0"] = x.toExponential().split("e");
  return trimDecimal(mant.replace(".", ""), Number(exp) + 1);
}

/** Rounds to `nd` digits, half to even on an exact tie, as Go's decimal.Round. */
function roundDecimal(a: Decimal, nd: number): Decimal {
  if (nd < 0 || nd >= a.d.length) return a;
  const c = a.d[nd]!;
  const up = c === "5" && nd + 1 === a.d.length ? nd > 0 && Number(a.d[nd - 1]) % 2 === 1 : c >= "5";
  if (!up) return trimDecimal(a.d.slice(0, nd), a.dp);
  let i = nd - 1;
  while (i >= 0 && a.d[i] === "9") i--;
  if (i < 0) return { d: "1", dp: a.dp + 1 };
  return { d: a.d.slice(0, i) + String(Number(a.d[i]) + 1), dp: a.dp };
}

function fmtE(a: Decimal, prec: number, e: string): string {
  let s = a.d[0] ?? "0";
  if (prec > 0) {
    s += ".";
    for (let i = 1; i <= prec; i++) s += a.d[i] ?? "0";
  }
  const exp = a.d === "" ? 0 : a.dp - 1;
  return `${s}${e}${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

function fmtF(a: Decimal, prec: number): string {
  let s = a.dp > 0 ? a.d.slice(0, a.dp).padEnd(a.dp, "0") : "0";
  if (prec > 0) {
    s += ".";
    for (let i = 0; i < prec; i++) {
      const j = a.dp + i;
      s += j >= 0 ? (a.d[j] ?? "0") : "0";
    }
  }
  return s;
}

/** |x| formatted with %e, %f or %g (upper-case verbs upper-case the exponent); shortest when prec is undefined. */
function floatText(x: number, verb: string, prec: number | undefined): string {
  const neg = x < 0 || Object.is(x, -0) ? "-" : "";
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "+Inf" : "-Inf";
  const lower = verb.toLowerCase();
  const e = verb === "E" || verb === "G" ? "E" : "e";
  const shortest = prec === undefined;
  if (lower === "e") {
    const a = shortest ? shortestDecimal(x) : roundDecimal(exactDecimal(x), prec + 1);
    return neg + fmtE(a, shortest ? Math.max(a.d.length - 1, 0) : prec, e);
  }
  if (lower === "f") {
    const exact = exactDecimal(x);
    const a = shortest ? shortestDecimal(x) : roundDecimal(exact, exact.dp + prec);
    return neg + fmtF(a, shortest ? Math.max(a.d.length - a.dp, 0) : prec);
  }
  // %g: Go's rule, with %e when the exponent is < -4 or >= the precision (6 when shortest).
  let p = shortest ? 0 : prec === 0 ? 1 : prec;
  const a = shortest ? shortestDecimal(x) : roundDecimal(exactDecimal(x), p);
  if (shortest) p = a.d.length;
  let eprec = p;
  if (eprec > a.d.length && a.d.length >= a.dp) eprec = a.d.length;
  if (shortest) eprec = 6;
  const exp = a.dp - 1;
  if (a.d !== "" && (exp < -4 || exp >= eprec)) {
    if (p > a.d.length) p = a.d.length;
    return neg + fmtE(a, p - 1, e);
  }
  if (p > a.dp) p = a.d.length;
  return neg + fmtF(a, Math.max(p - a.dp, 0));
}

/** Whether a number stands for a Go int: integral and within int64 (beyond, Go data would be float64). */
function isGoInt(n: number): boolean {
  return Number.isInteger(n) && Math.abs(n) < 2 ** 63;
}

function intText(n: number): string {
  return Math.abs(n) >= 1e21 ? BigInt(n).toString() : String(n === 0 ? 0 : n);
}

// ---------------------------------------------------------------------------
// fmt verbs

interface Flags {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

const runeLength = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

function pad(s: string, f: Flags, zeroOk = true): string {
  const w = f.width ?? 0;
  const len = runeLength(s);
  if (len >= w) return s;
  if (f.minus) return s + " ".repeat(w - len);
  return (f.zero && zeroOk ? "0" : " ").repeat(w - len) + s;
}

function badVerb(arg: unknown, verb: string): string {
  return arg == null ? `%!${verb}(<nil>)` : `%!${verb}(${goTypeName(arg)}=${goString(arg)})`;
}

function fmtArg(arg: unknown, verb: string, f: Flags): string {
  if (arg === null || arg === undefined) return verb === "v" ? pad("<nil>", f, false) : badVerb(arg, verb);
  if (typeof arg === "boolean") return verb === "t" || verb === "v" ? pad(String(arg), f) : badVerb(arg, verb);
  if (typeof arg === "bigint") return fmtInteger(Number(arg), verb, f, arg);
  if (typeof arg === "number") {
    if (isGoInt(arg) && !"eEfFgG".includes(verb)) return fmtInteger(arg, verb, f, arg);
    if (!"veEfFgG".includes(verb)) return badVerb(arg, verb);
    return fmtFloat(arg, verb === "v" ? "g" : verb, f);
  }
  if (typeof arg === "string") return fmtString(arg, verb, f);
  // Go formats each element of a slice or map with the same verb and flags.
  const elem = (e: unknown) => (e === null || e === undefined ? "<nil>" : fmtArg(e, verb, f));
  if (Array.isArray(arg)) return `[${arg.map(elem).join(" ")}]`;
  if (arg instanceof Date) return verb === "v" || verb === "s" ? pad(goTime(arg), f) : badVerb(arg, verb);
  if (isMap(arg)) return `map[${sortedKeys(arg).map((k) => `${fmtArg(k, verb, f)}:${elem(arg[k])}`).join(" ")}]`;
  return badVerb(arg, verb);
}

function fmtFloat(x: number, verb: string, f: Flags): string {
  const prec = f.prec ?? ("eEfF".includes(verb) ? 6 : undefined);
  let body = floatText(x, verb, prec);
  if (body === "NaN" || body.endsWith("Inf")) {
    if (body === "+Inf" && !f.plus) body = f.space ? " Inf" : "+Inf";
    return pad(body, f, false);
  }
  let sign = "";
  if (body[0] === "-") {
    sign = "-";
    body = body.slice(1);
  } else if (f.plus) sign = "+";
  else if (f.space) sign = " ";
  if (f.zero && f.width !== undefined && !f.minus) return sign + body.padStart(f.width - sign.length, "0");
  return pad(sign + body, f, false);
}

function fmtInteger(n: number, verb: string, f: Flags, orig: number | bigint): string {
  switch (verb) {
    case "c":
      return pad(validRune(n), f);
    case "q":
      return pad(quoteWith(validRune(n), "'", f.plus), f);
    case "U": {
      let s = `U+${Math.abs(n).toString(16).toUpperCase().padStart(Math.max(4, f.prec ?? 0), "0")}`;
      if (f.sharp && isPrint(validRune(n))) s += ` '${validRune(n)}'`;
      return pad(s, f, false);
    }
  }
  const base = ({ v: 10, d: 10, b: 2, o: 8, O: 8, x: 16, X: 16 } as Record<string, number>)[verb];
  if (base === undefined) return badVerb(orig, verb);
  const big = typeof orig === "bigint" ? orig : Math.abs(n) >= 1e21 ? BigInt(n) : null;
  const neg = big !== null ? big < 0n : n < 0;
  let digits = big !== null ? (big < 0n ? -big : big).toString(base) : Math.abs(n).toString(base);
  if (verb === "X") digits = digits.toUpperCase();
  if (f.prec !== undefined) digits = f.prec === 0 && n === 0 ? "" : digits.padStart(f.prec, "0");
  else if (f.zero && f.width !== undefined && !f.minus) digits = digits.padStart(f.width - (neg || f.plus || f.space ? 1 : 0), "0");
  let prefix = "";
  if (f.sharp) {
    if (verb === "b") prefix = "0b";
    else if (verb === "o" && digits[0] !== "0") prefix = "0";
    else if (verb === "x") prefix = "0x";
    else if (verb === "X") prefix = "0X";
  }
  if (verb === "O") prefix = "0o";
  const sign = neg ? "-" : f.plus ? "+" : f.space ? " " : "";
  return pad(sign + prefix + digits, f, false);
}

function validRune(n: number): string {
  return n >= 0 && n <= 0x10ffff && !(n >= 0xd800 && n <= 0xdfff) ? String.fromCodePoint(n) : "\ufffd";
}

function fmtString(s: string, verb: string, f: Flags): string {
  const cut = f.prec === undefined ? s : [...s].slice(0, f.prec).join("");
  switch (verb) {
    case "v":
    case "s":
      return pad(cut, f);
    case "q":
      return pad(f.sharp && canBackquote(cut) ? `\`${cut}\`` : quoteWith(cut, '"', f.plus), f);
    case "x":
    case "X": {
      let bytes = [...utf8.encode(s)];
      if (f.prec !== undefined) bytes = bytes.slice(0, f.prec);
      const hex = bytes.map((b) => b.toString(16).padStart(2, "0"));
      const pre = f.sharp ? "0x" : "";
      let out = f.space ? hex.map((h) => pre + h).join(" ") : pre + hex.join("");
      if (verb === "X") out = out.toUpperCase();
      return pad(out, f);
    }
    default:
      return badVerb(s, verb);
  }
}

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
function isPrint(ch: string): boolean {
  return ch === " " || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
}

function canBackquote(s: string): boolean {
  for (const ch of s) {
    if (ch === "`" || ch === "\ufeff") return false;
    const cp = ch.codePointAt(0)!;
    if ((cp < 0x20 && ch !== "\t") || cp === 0x7f) return false;
  }
  return true;
}

/** Go's strconv.Quote (or QuoteRune with `'`), QuoteToASCII when `ascii`. */
function quoteWith(s: string, q: '"' | "'", ascii: boolean): string {
  let out = q;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === q || ch === "\\") {
      out += `\\${ch}`;
      continue;
    }
    if (ascii ? cp < 0x80 && isPrint(ch) : isPrint(ch)) {
      out += ch;
      continue;
    }
    const named: Record<string, string> = { "\x07": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v" };
    if (named[ch]) out += named[ch];
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, "0")}`;
    else out += `\\U${cp.toString(16).padStart(8, "0")}`;
  }
  return out + q;
}

/** Go's fmt.Sprint: a space between operands when neither is a string. */
function goSprint(args: unknown[]): string {
  let out = "";
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += goString(a);
  });
  return out;
}

/** The text `html`, `js` and `urlquery` escape: one string as is, else fmt.Sprint. */
function escapeInput(args: unknown[]): string {
  return args.length === 1 && typeof args[0] === "string" ? args[0] : goSprint(args);
}

// ---------------------------------------------------------------------------
// Functions

type Param = "any" | "string" | "int" | "list";

interface Func {
  params: Param[];
  /** Type of further arguments; absent means exactly `params.length`. */
  rest?: Param;
  run(args: unknown[]): unknown;
}

function compare(a: unknown, b: unknown): number {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === "bool" || ka === "nil" || ka === "other" || kb === "bool" || kb === "nil" || kb === "other") {
    if (ka !== kb && ka !== "nil" && kb !== "nil" && ka !== "other" && kb !== "other") throw new FuncError("incompatible types for comparison");
    throw new FuncError("invalid type for comparison");
  }
  if (ka !== kb) throw new FuncError("incompatible types for comparison");
  const x = a as number | string;
  const y = b as number | string;
  return x < y ? -1 : x > y ? 1 : 0;
}

function basicKind(v: unknown): "bool" | "number" | "string" | "nil" | "other" {
  if (v === null || v === undefined) return "nil";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number" || typeof v === "bigint") return "number";
  if (typeof v === "string") return "string";
  return "other";
}

function eq(args: unknown[]): boolean {
  const [a, ...rest] = args;
  const ka = basicKind(a);
  if (ka === "other") throw new FuncError("invalid type for comparison");
  if (rest.length === 0) throw new FuncError("missing argument for comparison");
  for (const b of rest) {
    const kb = basicKind(b);
    if (ka !== kb) {
      if (ka !== "nil" && kb !== "nil") throw new FuncError("incompatible types for comparison");
      continue;
    }
    if (ka === "nil" || a == b) return true; // == so that 1n equals 1
  }
  return false;
}

function toIndex(v: unknown, what: string): number {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "bigint") return Number(v);
  throw new FuncError(`cannot index ${what} with type ${goTypeName(v)}`);
}

function index(item: unknown, indexes: unknown[]): unknown {
  if (item === undefined) throw new FuncError("index of untyped nil");
  let v: unknown = item;
  for (const ix of indexes) {
    if (v === null || v === undefined) {
      // A nil map (JSON null) yields a zero value (as for labels, ""), a nil slice is out of range.
      if (typeof ix === "string") return "";
      throw new FuncError(`index out of range: ${goString(ix)}`);
    }
    if (Array.isArray(v) || typeof v === "string") {
      const n = toIndex(ix, "slice/array");
      const items: unknown[] = Array.isArray(v) ? v : [...utf8.encode(v)];
      if (n < 0 || n >= items.length) throw new FuncError(`index out of range: ${n}`);
      v = items[n];
    } else if (isMap(v)) {
      if (typeof ix !== "string") throw new FuncError(`value has type ${goTypeName(ix)}; should be string`);
      v = Object.prototype.hasOwnProperty.call(v, ix) ? v[ix] : zeroOf(Object.values(v));
    } else throw new FuncError(`can't index item of type ${goTypeName(v)}`);
  }
  return v;
}

/** The zero value of a map's element type, guessed from its values (see the module comment). */
function zeroOf(values: unknown[]): unknown {
  if (values.every((x) => typeof x === "string")) return "";
  if (values.every((x) => typeof x === "number")) return 0;
  if (values.every((x) => typeof x === "boolean")) return false;
  return null;
}

function slice(item: unknown, indexes: unknown[]): unknown {
  if (item === undefined || item === null) throw new FuncError("slice of untyped nil");
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`);
  const isString = typeof item === "string";
  if (!isString && !Array.isArray(item)) throw new FuncError(`can't slice item of type ${goTypeName(item)}`);
  if (isString && indexes.length === 3) throw new FuncError("cannot 3-index slice a string");
  const items: unknown[] | Uint8Array = isString ? utf8.encode(item) : item;
  const len = items.length;
  const idx = [0, len, len];
  indexes.forEach((ix, i) => {
    const n = toIndex(ix, "slice");
    if (n < 0 || n > len) throw new FuncError(`index out of range: ${n}`);
    idx[i] = n;
  });
  if (idx[0]! > idx[1]!) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1]! > idx[2]!) throw new FuncError(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  const part = items.slice(idx[0], idx[1]);
  return isString ? utf8Decode.decode(part as Uint8Array) : part;
}

function length(v: unknown): number {
  if (v === undefined) throw new FuncError("len of nil pointer");
  if (v === null) return 0;
  if (typeof v === "string") return utf8.encode(v).length;
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new FuncError(`len of type ${goTypeName(v)}`);
}

/** Go's strings.Title: upper-case letters that follow a separator. */
function title(s: string): string {
  let prev = " ";
  let out = "";
  const isSeparator = (r: string) => {
    if (r.codePointAt(0)! < 0x80) return !/[0-9a-zA-Z_]/.test(r);
    if (/\p{L}|\p{Nd}/u.test(r)) return false;
    return /\s/u.test(r);
  };
  for (const r of s) {
    out += isSeparator(prev) ? r.toUpperCase() : r;
    prev = r;
  }
  return out;
}

/** Go's strings.ToUpper/ToLower map rune to rune: "ß" stays "ß" where JS would write "SS". */
function mapRunes(s: string, map: (r: string) => string): string {
  let out = "";
  for (const r of s) {
    const m = map(r);
    out += runeLength(m) === 1 ? m : r;
  }
  return out;
}

function byteTruncate(s: string, n: number): string {
  const b = utf8.encode(s);
  return b.length < n ? s : utf8Decode.decode(b.slice(0, Math.max(0, n)));
}

function htmlEscape(s: string): string {
  return s.replace(/[&'<>"\0]/g, (c) => ({ "&": "&amp;", "'": "&#39;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "\0": "\ufffd" })[c]!);
}

function jsEscape(s: string): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\\" || ch === "'" || ch === '"') out += `\\${ch}`;
    else if ("<>&=".includes(ch) || cp < 0x20 || (cp >= 0x80 && !isPrint(ch))) out += `\\u${cp.toString(16).toUpperCase().padStart(4, "0")}`;
    else out += ch;
  }
  return out;
}

function queryEscape(s: string): string {
  let out = "";
  for (const b of utf8.encode(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function repeatSpaces(n: number): string {
  if (n < 0) throw new FuncError("strings: negative Repeat count");
  return " ".repeat(n);
}

const FUNCS = new Map<string, Func>([
  // `and` and `or` are evaluated lazily by the executor; these entries give their arity.
  ["and", { params: ["any"], rest: "any", run: () => undefined }],
  ["or", { params: ["any"], rest: "any", run: () => undefined }],
  ["not", { params: ["any"], run: ([v]) => !isTrue(v) }],
  ["len", { params: ["any"], run: ([v]) => length(v) }],
  ["index", { params: ["any"], rest: "any", run: ([v, ...ix]) => index(v, ix) }],
  ["slice", { params: ["any"], rest: "any", run: ([v, ...ix]) => slice(v, ix) }],
  ["print", { params: [], rest: "any", run: (a) => goSprint(a) }],
  ["println", { params: [], rest: "any", run: (a) => `${a.map(goString).join(" ")}\n` }],
  ["printf", { params: ["string"], rest: "any", run: ([f, ...a]) => goSprintf(f as string, a) }],
  ["eq", { params: ["any"], rest: "any", run: (a) => eq(a) }],
  ["ne", { params: ["any", "any"], run: ([a, b]) => !eq([a, b]) }],
  ["lt", { params: ["any", "any"], run: ([a, b]) => compare(a, b) < 0 }],
  ["le", { params: ["any", "any"], run: ([a, b]) => compare(a, b) <= 0 }],
  ["gt", { params: ["any", "any"], run: ([a, b]) => compare(a, b) > 0 }],
  ["ge", { params: ["any", "any"], run: ([a, b]) => compare(a, b) >= 0 }],
  ["html", { params: [], rest: "any", run: (a) => htmlEscape(escapeInput(a)) }],
  ["js", { params: [], rest: "any", run: (a) => jsEscape(escapeInput(a)) }],
  ["urlquery", { params: [], rest: "any", run: (a) => queryEscape(escapeInput(a)) }],
  [
    "call",
    {
      params: ["any"],
      rest: "any",
      run: ([fn, ...a]) => {
        if (typeof fn !== "function") throw new FuncError(`non-function of type ${goTypeName(fn)}`);
        return fn(...a);
      },
    },
  ],
  // docker's and podman's additions (docker cli/templates, containers/common pkg/report)
  ["json", { params: ["any"], run: ([v]) => goJson(v) }],
  ["split", { params: ["string", "string"], run: ([s, sep]) => (sep === "" ? [...(s as string)] : (s as string).split(sep as string)) }],
  ["join", { params: ["list", "string"], run: ([l, sep]) => (l as unknown[]).map(goString).join(sep as string) }],
  ["title", { params: ["string"], run: ([s]) => title(s as string) }],
  ["lower", { params: ["string"], run: ([s]) => mapRunes(s as string, (r) => r.toLowerCase()) }],
  ["upper", { params: ["string"], run: ([s]) => mapRunes(s as string, (r) => r.toUpperCase()) }],
  ["pad", { params: ["string", "int", "int"], run: ([s, a, b]) => (s === "" ? "" : repeatSpaces(a as number) + s + repeatSpaces(b as number)) }],
  ["truncate", { params: ["string", "int"], run: ([s, n]) => byteTruncate(s as string, n as number) }],
]);

/** Functions that leave a `table` header unchanged (docker's HeaderFunctions, plus index and slice). */
const HEADER_IDENTITY = new Set(["json", "split", "join", "title", "lower", "upper", "truncate", "index", "slice"]);

// ---------------------------------------------------------------------------
// Execution

/** No value piped in: distinct from `undefined`, which is Go's "no value". */
const MISSING = Symbol("missing");
type Final = unknown;

const BREAK = Symbol("break");
const CONTINUE = Symbol("continue");

class Exec {
  private vars: { name: string; value: unknown }[] = [];
  private out: string[] = [];

  constructor(
    private readonly errs: Errors,
    private readonly header: boolean,
  ) {}

  run(nodes: Node[], data: unknown): string {
    this.vars = [{ name: "$", value: data }];
    this.out = [];
    this.walk(data, nodes);
    return this.out.join("");
  }

  private walk(dot: unknown, nodes: Node[]): void {
    for (const n of nodes) {
      switch (n.kind) {
        case "text":
          this.out.push(n.text);
          break;
        case "action": {
          const v = this.evalPipeline(dot, n.pipe);
          if (n.pipe.decl.length === 0) this.out.push(this.printable(v, n.pipe));
          break;
        }
        case "if":
        case "with": {
          const mark = this.vars.length;
          const v = this.evalPipeline(dot, n.pipe);
          if (isTrue(v)) this.walk(n.kind === "with" ? v : dot, n.list);
          else if (n.elseList) this.walk(dot, n.elseList);
          this.vars.length = mark;
          break;
        }
        case "range":
          this.range(dot, n);
          break;
        case "break":
          throw BREAK;
        case "continue":
          throw CONTINUE;
      }
    }
  }

  private range(dot: unknown, n: { pipe: Pipe; list: Node[]; elseList: Node[] | null }): void {
    const mark = this.vars.length;
    const val = this.evalPipeline(dot, n.pipe);
    const bodyMark = this.vars.length;
    let ran = false;
    /** One iteration; false to stop (break). */
    const one = (key: unknown, elem: unknown): boolean => {
      ran = true;
      const decl = n.pipe.decl;
      if (decl.length > 0) {
        // As Go: one variable gets the element; two get key and element.
        const assign = (name: string, value: unknown, fromTop: number) => {
          if (n.pipe.isAssign) this.setVar(name, value);
          else this.vars[this.vars.length - fromTop]!.value = value;
        };
        assign(decl[decl.length - 1]!, elem, 1);
        if (decl.length === 2) assign(decl[0]!, key, 2);
      }
      try {
        this.walk(elem, n.list);
      } catch (e) {
        if (e === BREAK) return false;
        if (e !== CONTINUE) throw e;
      } finally {
        this.vars.length = bodyMark;
      }
      return true;
    };
    if (val === undefined || val === null) {
      // nothing to iterate, as Go ranges over a nil map or slice
    } else if (Array.isArray(val)) {
      for (let i = 0; i < val.length; i++) if (!one(i, val[i])) break;
    } else if (isMap(val)) {
      for (const k of sortedKeys(val)) if (!one(k, val[k])) break;
    } else if (typeof val === "number" && Number.isInteger(val)) {
      for (let i = 0; i < val; i++) if (!one(i, i)) break;
    } else if (this.header && typeof val === "string") {
      one(0, val);
    } else {
      this.errs.exec(n.pipe, `range can't iterate over ${goString(val)}`);
    }
    if (!ran && n.elseList) this.walk(dot, n.elseList);
    this.vars.length = mark;
  }

  private printable(v: unknown, node: Span): string {
    if (v === undefined) return "<no value>";
    if (typeof v === "function") this.errs.exec(node, "can't print value of type func");
    return goString(v);
  }

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
  }

  private varValue(node: Span, name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!.value;
    return this.errs.exec(node, `undefined variable: ${name}`);
  }

  private evalPipeline(dot: unknown, pipe: Pipe): unknown {
    let value: unknown = MISSING;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    for (const name of pipe.decl) {
      if (pipe.isAssign) this.setVar(name, value);
      else this.vars.push({ name, value });
    }
    return value;
  }

  private evalCommand(dot: unknown, cmd: Cmd, final: Final): unknown {
    const first = cmd.args[0]!;
    switch (first.kind) {
      case "field":
        return this.evalFieldChain(dot, dot, first, first.names, cmd.args, final);
      case "chain":
        return this.evalChain(dot, first, cmd.args, final);
      case "ident":
        return this.evalFunction(dot, first.name, cmd, cmd.args, final);
      case "var":
        return this.evalVariable(dot, first, cmd.args, final);
      case "pipe":
        this.notAFunction(first, cmd.args, final);
        return this.evalPipeline(dot, first.pipe);
      case "literal":
        this.notAFunction(first, cmd.args, final);
        return first.value;
      case "dot":
        this.notAFunction(first, cmd.args, final);
        return dot;
      case "nil":
        return this.errs.exec(first, "nil is not a command");
    }
  }

  private notAFunction(node: Span, args: Arg[], final: Final): void {
    if (args.length > 1 || final !== MISSING) this.errs.exec(node, `can't give argument to non-function ${this.errs.source.slice(node.pos, node.end)}`);
  }

  private evalArg(dot: unknown, node: Arg): unknown {
    switch (node.kind) {
      case "dot":
        return dot;
      case "nil":
        return null;
      case "literal":
        return node.value;
      case "field":
        return this.evalFieldChain(dot, dot, node, node.names, [node], MISSING);
      case "var":
        return this.evalVariable(dot, node, [node], MISSING);
      case "chain":
        return this.evalChain(dot, node, [node], MISSING);
      case "pipe":
        return this.evalPipeline(dot, node.pipe);
      case "ident":
        return this.evalFunction(dot, node.name, node, [node], MISSING);
    }
  }

  private evalVariable(dot: unknown, node: Arg & { kind: "var" }, args: Arg[], final: Final): unknown {
    const value = this.varValue(node, node.name);
    if (node.names.length === 0) {
      this.notAFunction(node, args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, node, node.names, args, final);
  }

  private evalChain(dot: unknown, node: Arg & { kind: "chain" }, args: Arg[], final: Final): unknown {
    if (node.node.kind === "nil") this.errs.exec(node, "indirection through explicit nil");
    const receiver = this.evalArg(dot, node.node);
    return this.evalFieldChain(dot, receiver, node, node.names, args, final);
  }

  private evalFieldChain(dot: unknown, receiver: unknown, node: Span, names: string[], args: Arg[], final: Final): unknown {
    const last = names.length - 1;
    for (let i = 0; i < last; i++) receiver = this.evalField(dot, names[i]!, node, [], MISSING, receiver);
    return this.evalField(dot, names[last]!, node, args, final, receiver);
  }

  private evalField(dot: unknown, name: string, node: Span, args: Arg[], final: Final, receiver: unknown): unknown {
    if (receiver === undefined || receiver === null) return undefined;
    if (receiver instanceof HeaderData) return receiver.name(name);
    if (this.header && typeof receiver === "string") return receiver;
    const hasArgs = args.length > 1 || final !== MISSING;
    if (typeof receiver === "object" && !Array.isArray(receiver) && !(receiver instanceof Date)) {
      const v = lookup(receiver, name);
      if (typeof v === "function") {
        const argv = args.slice(1).map((a) => this.evalArg(dot, a));
        if (final !== MISSING) argv.push(final);
        try {
          return v.apply(receiver, argv);
        } catch (e) {
          if (e instanceof CtrError) throw e;
          return this.errs.exec(node, `error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      if (hasArgs) this.errs.exec(node, `${name} is not a method but has arguments`);
      if (GO_MAP_FIELDS.has(name) && typeof v === "object" && v !== null) reachedAsMap.add(v);
      return v;
    }
    return this.errs.exec(node, `can't evaluate field ${name} in type ${goTypeName(receiver)}`);
  }

  private evalFunction(dot: unknown, name: string, node: Span, args: Arg[], final: Final): unknown {
    const fn = FUNCS.get(name)!;
    const argNodes = args.slice(1);
    const count = argNodes.length + (final === MISSING ? 0 : 1);
    if (name === "and" || name === "or") {
      if (count < 1) this.errs.exec(node, `wrong number of args for ${name}: want at least 1 got 0`);
      // Go 1.18+: evaluate left to right, stop at the first false (and) or true (or) value.
      let v: unknown;
      for (let i = 0; i < count; i++) {
        v = i < argNodes.length ? this.evalArg(dot, argNodes[i]!) : final;
        if (isTrue(v) === (name === "or")) return v;
      }
      return v;
    }
    const min = fn.params.length;
    if (fn.rest ? count < min : count !== min) {
      this.errs.exec(node, `wrong number of args for ${name}: want ${fn.rest ? "at least " : ""}${min} got ${count}`);
    }
    const values = argNodes.map((a) => this.evalArg(dot, a));
    if (final !== MISSING) values.push(final);
    if (this.header && HEADER_IDENTITY.has(name)) return final !== MISSING ? final : values[0];
    values.forEach((v, i) => {
      const type = fn.params[i] ?? fn.rest ?? "any";
      values[i] = this.convert(v, type, argNodes[i] ?? node);
    });
    try {
      return fn.run(values);
    } catch (e) {
      if (e instanceof FuncError) this.errs.exec(node, `error calling ${name}: ${e.message}`);
      throw e;
    }
  }

  /** Go's check of an argument against a function's parameter type. */
  private convert(v: unknown, type: Param, node: Span): unknown {
    const wrong = (want: string): never =>
      this.errs.exec(node, v === undefined ? `invalid value; expected ${want}` : `wrong type for value; expected ${want}; got ${goTypeName(v)}`);
    switch (type) {
      case "any":
        return v;
      case "string":
        if (typeof v === "string") return v;
        return v === null ? "" : wrong("string");
      case "int":
        if (typeof v === "number" && Number.isInteger(v)) return v;
        return typeof v === "bigint" ? Number(v) : wrong("int");
      case "list":
        if (Array.isArray(v)) return v;
        return v === null || v === undefined ? [] : wrong("[]string");
    }
  }
}

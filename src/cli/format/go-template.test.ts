import { describe, expect, test } from "bun:test";
import { CtrError } from "../../errors.ts";
import { compileTemplate, goJson, goSprintf, goString, parseFormatTemplate } from "./go-template.ts";

const run = (tpl: string, data: unknown = {}) => compileTemplate(tpl)(data);

/** The CtrError message a template throws, at parse or at execution. */
function errorOf(tpl: string, data: unknown = {}): string {
  try {
    run(tpl, data);
  } catch (e) {
    expect(e).toBeInstanceOf(CtrError);
    expect((e as CtrError).kind).toBe("invalid");
    return (e as CtrError).message;
  }
  throw new Error(`template ${tpl} did not fail`);
}

const data = {
  Name: "web",
  Id: "0123456789abcdef",
  Config: { Labels: { "com.example.a": "1", b: "<two>" }, Env: ["A=1", "B=2"], Cmd: null, Empty: {} },
  Names: ["a", "b", "c"],
  Ports: [],
  Size: 2133516,
  Ratio: 0.25,
  Running: true,
  Zero: 0,
  Nil: null,
  Nested: { Deep: { Deeper: "x" } },
  Created: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 600)),
  Label(key: string) {
    return (this.Config.Labels as Record<string, string>)[key] ?? "";
  },
};

describe("compileTemplate text and actions", () => {
  test("copies text and substitutes actions", () => {
    expect(run("plain")).toBe("plain");
    expect(run("")).toBe("");
    expect(run("{{.Name}}: {{.Id}}", data)).toBe("web: 0123456789abcdef");
    expect(run("a { b } {c}", data)).toBe("a { b } {c}");
  });

  test("trim markers remove the whitespace beside them", () => {
    expect(run("{{ 1 }}{{- \" a \" -}}{{ 2 -}}   x   {{- 3 }}")).toBe("1 a 2x3");
    expect(run("a  \n\t{{- .Name}}", data)).toBe("aweb");
    expect(run("{{.Name -}}\n\n  b", data)).toBe("webb");
    // "{{-3}}" is the number -3, not a trim marker
    expect(run("x {{-3}}")).toBe("x -3");
  });

  test("comments print nothing and may trim", () => {
    expect(run("{{/* comment */}}a{{- /* c2 */ -}}  b")).toBe("ab");
    expect(run("a{{/* multi\nline */}}b")).toBe("ab");
  });

  test("newlines inside an action are spaces", () => {
    expect(run("{{printf\n\"%s\"\n.Name}}", data)).toBe("web");
  });
});

describe("compileTemplate fields and values", () => {
  test("field chains walk maps", () => {
    expect(run("{{.Nested.Deep.Deeper}}", data)).toBe("x");
    expect(run("{{.Config.Labels.b}}", data)).toBe("<two>");
  });

  test("a missing field prints <no value>, an explicit null prints <nil>", () => {
    expect(run("{{.Nope}}", data)).toBe("<no value>");
    expect(run("{{.Config.Labels.nope}}", data)).toBe("<no value>");
    expect(run("{{.Nil}}", data)).toBe("<nil>");
    // fields of a missing or null value are missing too (Go would fail "nil pointer evaluating")
    expect(run("{{.Nope.Deeper.Still}}|{{.Nil.X}}", data)).toBe("<no value>|<no value>");
  });

  test("a field of a string, number or list is an error naming the field", () => {
    expect(errorOf("{{.Name.X}}", data)).toBe(`invalid format "{{.Name.X}}": executing <.Name.X> at offset 2: can't evaluate field X in type string`);
    expect(errorOf("{{.Names.First}}", data)).toContain("can't evaluate field First in type []interface {}");
    expect(errorOf("{{.Size.X}}", data)).toContain("can't evaluate field X in type int");
  });

  test("dot and $ are the data; $ stays the root inside range and with", () => {
    expect(run("{{.}}", "hello")).toBe("hello");
    expect(run("{{$}}", 5)).toBe("5");
    expect(run("{{range .Names}}{{$.Name}}-{{.}} {{end}}", data)).toBe("web-a web-b web-c ");
    expect(run("{{with .Nested}}{{.Deep.Deeper}}{{$.Name}}{{end}}", data)).toBe("xweb");
  });

  test("function-valued properties are methods taking arguments", () => {
    expect(run('{{.Label "b"}}', data)).toBe("<two>");
    expect(run('{{"b" | .Label}}', data)).toBe("<two>");
    const obj = { Fn: (a: string, b: number) => `${a}${b}`, Val: 1 };
    expect(run('{{.Fn "x" 2}}', obj)).toBe("x2");
    expect(errorOf("{{.Val 1}}", obj)).toContain("executing <.Val> at offset 2: Val is not a method but has arguments");
  });

  test("methods on class instances are found, Object.prototype members are not", () => {
    class Row {
      constructor(readonly id: string) {}
      get Short() {
        return this.id.slice(0, 3);
      }
    }
    expect(run("{{.Short}}", new Row("abcdef"))).toBe("abc");
    expect(run("{{.toString}}|{{.constructor}}", {})).toBe("<no value>|<no value>");
  });

  test("values print as Go's fmt prints them", () => {
    expect(run("{{.Names}}", data)).toBe("[a b c]");
    expect(run("{{.Ports}}", data)).toBe("[]");
    expect(run("{{.Config.Labels}}", data)).toBe("map[b:<two> com.example.a:1]");
    expect(run("{{.Config.Empty}}", data)).toBe("map[]");
    expect(run("{{.}}", { m: { a: [1, 2] }, s: "q", n: null })).toBe("map[m:map[a:[1 2]] n:<nil> s:q]");
    expect(run("{{.Running}} {{.Zero}} {{.Size}} {{.Ratio}}", data)).toBe("true 0 2133516 0.25");
    expect(run("{{.Created}}", data)).toBe("2024-01-02 03:04:05.6 +0000 UTC");
    expect(run("{{.}}", new Date(Date.UTC(1970, 0, 1)))).toBe("1970-01-01 00:00:00 +0000 UTC");
  });

  test("numbers print as Go prints ints and float64s", () => {
    expect(run("{{.}}", 1234567)).toBe("1234567");
    expect(run("{{.}}", -0)).toBe("0");
    // verified against Go 1.24 (docker 28 `version --format`)
    expect(run("{{.}}", 1234567.5)).toBe("1.2345675e+06");
    expect(run("{{.}}", 0.00001)).toBe("1e-05");
    expect(run("{{.}}", 0.0001)).toBe("0.0001");
    expect(run("{{.}}", 1e100)).toBe("1e+100");
    expect(run("{{.}}", 123456789012345678901234.5)).toBe("1.2345678901234569e+23");
    expect(run("{{.}}", Number.NaN)).toBe("NaN");
    expect(run("{{.}}", Number.POSITIVE_INFINITY)).toBe("+Inf");
  });

  test("literals: strings with Go escapes, raw strings, characters, numbers, booleans", () => {
    expect(run('{{"\\x41\\u00e9\\U0001F600\\101\\t|\\""}}')).toBe('Aé😀A\t|"');
    expect(run("{{`raw\\n`}}")).toBe("raw\\n");
    expect(run("{{'a'}}|{{'\\n'}}|{{'\\''}}")).toBe("97|10|39");
    expect(run("{{0x1F}}|{{0o17}}|{{017}}|{{0b101}}|{{1_000}}|{{-3}}|{{+4}}|{{.5}}|{{1e3}}")).toBe("31|15|15|5|1000|-3|4|0.5|1000");
    expect(run("{{true}}|{{false}}")).toBe("true|false");
  });
});

describe("compileTemplate variables and pipelines", () => {
  test("declare, assign and read variables", () => {
    expect(run("{{$x := .Name}}{{$x}}", data)).toBe("web");
    expect(run("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}")).toBe("2");
    expect(run("{{$n := .Nested}}{{$n.Deep.Deeper}}", data)).toBe("x");
  });

  test("a variable declared inside a control structure ends with it", () => {
    expect(errorOf("{{if true}}{{$x := 1}}{{end}}{{$x}}")).toBe(`invalid format "{{if true}}{{$x := 1}}{{end}}{{$x}}": undefined variable "$x" at offset 31`);
    expect(run("{{$x := 1}}{{range .Names}}{{$x := .}}{{end}}{{$x}}", data)).toBe("1");
  });

  test("pipelines pass the value as the last argument", () => {
    expect(run('{{.Name | printf "%s!"}}', data)).toBe("web!");
    expect(run('{{"abc" | printf "%s-%s" "x"}}')).toBe("x-abc");
    // as in Go, the piped value is the LAST argument: join gets "," as its list
    expect(errorOf('{{.Names | join ","}}', data)).toContain('executing <","> at offset 16: wrong type for value; expected []string; got string');
    expect(run("{{.Config.Labels | json}}", data)).toBe('{"b":"<two>","com.example.a":"1"}');
    expect(run('{{index .Names 0 | upper | printf "<%s>"}}', data)).toBe("<A>");
  });

  test("parenthesized pipelines and fields on them", () => {
    expect(run('{{(index .Names 1)}}|{{len (split "a,b,c" ",")}}', data)).toBe("b|3");
    expect(run("{{(.Nested).Deep.Deeper}}", data)).toBe("x");
  });
});

describe("compileTemplate if, with, range", () => {
  test("if uses Go truth: false, 0, nil and empty values are false", () => {
    const truth = (v: unknown) => run("{{if .}}T{{else}}F{{end}}", v);
    expect([false, 0, null, undefined, "", [], {}].map(truth).join("")).toBe("FFFFFFF");
    expect([true, 1, -1, 0.5, "x", [0], { a: 0 }, new Date(0)].map(truth).join("")).toBe("TTTTTTTT");
  });

  test("else if chains share one end", () => {
    expect(run('{{if 0}}a{{else if ""}}b{{else if 1}}c{{else}}d{{end}}')).toBe("c");
    expect(run("{{if .Zero}}a{{else if .Nil}}b{{else}}d{{end}}", data)).toBe("d");
  });

  test("with sets dot when true, else with and else otherwise", () => {
    expect(run("{{with .Nested.Deep}}{{.Deeper}}{{end}}", data)).toBe("x");
    expect(run('{{with ""}}x{{else with "y"}}{{.}}{{end}}')).toBe("y");
    expect(run("{{with .Ports}}x{{else}}none{{end}}", data)).toBe("none");
    expect(run('{{with $x := "v"}}{{$x}}{{.}}{{end}}')).toBe("vv");
  });

  test("range over lists with index and element variables", () => {
    expect(run("{{range .Names}}[{{.}}]{{end}}", data)).toBe("[a][b][c]");
    expect(run("{{range $i, $e := .Names}}{{$i}}={{$e}} {{end}}", data)).toBe("0=a 1=b 2=c ");
    expect(run("{{range $e := .Names}}{{$e}}{{end}}", data)).toBe("abc");
  });

  test("range over maps visits keys in sorted order", () => {
    const m = { z: 1, a: 2, m: 3 };
    expect(run("{{range $k, $v := .}}{{$k}}={{$v}};{{end}}", m)).toBe("a=2;m=3;z=1;");
    expect(run("{{range .}}{{.}}{{end}}", m)).toBe("231");
  });

  test("range else runs for empty and nil collections", () => {
    expect(run("{{range .Ports}}x{{else}}empty{{end}}", data)).toBe("empty");
    expect(run("{{range .Nil}}x{{else}}nil{{end}}|{{range .Missing}}x{{else}}missing{{end}}", data)).toBe("nil|missing");
    expect(run('{{range split "" ","}}<{{.}}>{{else}}empty{{end}}')).toBe("<>");
  });

  test("break and continue", () => {
    expect(run('{{range $i, $e := split "a,b,c" ","}}{{if eq $i 1}}{{continue}}{{end}}{{$e}}{{end}}')).toBe("ac");
    expect(run('{{range $i, $e := split "a,b,c" ","}}{{if eq $i 2}}{{break}}{{end}}{{$e}}{{end}}')).toBe("ab");
  });

  test("range over an integer counts from zero", () => {
    expect(run("{{range 3}}{{.}}{{end}}|{{range $v := 2}}{{$v}}{{end}}")).toBe("012|01");
  });

  test("range over a string is an error", () => {
    expect(errorOf("{{range .Name}}{{end}}", data)).toBe(`invalid format "{{range .Name}}{{end}}": executing <.Name> at offset 8: range can't iterate over web`);
  });
});

describe("compileTemplate functions", () => {
  test("json is compact, keeps <>& as docker and podman do, escapes U+2028", () => {
    expect(run('{{json "a\\u2028b<>&"}}')).toBe('"a\\u2028b<>&"');
    expect(run("{{json .Names}}|{{json .Nil}}|{{json .Missing}}|{{json .Size}}|{{json .Running}}", data)).toBe('["a","b","c"]|null|null|2133516|true');
    expect(run("{{json .Created}}", data)).toBe('"2024-01-02T03:04:05.6Z"');
    expect(run('{{json "\\u0001\\t"}}')).toBe('"\\u0001\\t"');
  });

  test("index on lists, strings and maps", () => {
    expect(run("{{index .Names 1}}", data)).toBe("b");
    expect(run('{{index "abc" 1}}')).toBe("98");
    expect(run('{{index .Config.Labels "com.example.a"}}', data)).toBe("1");
    // a missing key of a string map is "" as Go's map[string]string gives, and of a nil map too
    expect(run('[{{index .Config.Labels "nope"}}][{{index .Config.Cmd "x"}}]', data)).toBe("[][]");
    expect(run('{{index . "nope"}}', { a: [1] })).toBe("<nil>");
    expect(run("{{index . 1 0}}", [["a"], ["b", "c"]])).toBe("b");
    expect(errorOf("{{index .Names 5}}", data)).toBe(`invalid format "{{index .Names 5}}": executing <index .Names 5> at offset 2: error calling index: index out of range: 5`);
    expect(errorOf("{{index 1 2}}")).toContain("error calling index: can't index item of type int");
    expect(errorOf('{{index .Names "a"}}', data)).toContain("cannot index slice/array with type string");
    expect(errorOf("{{index .Config.Labels 1}}", data)).toContain("value has type int; should be string");
  });

  test("len counts bytes of strings, items of lists and maps", () => {
    expect(run('{{len "héllo"}}|{{len .Names}}|{{len .Config.Labels}}|{{len .Nil}}', data)).toBe("6|3|2|0");
    expect(errorOf("{{len 3}}")).toContain("error calling len: len of type int");
  });

  test("slice", () => {
    expect(run('{{slice "abcdef" 1 3}}|{{slice .Names 1}}|{{slice .Names}}', data)).toBe("bc|[b c]|[a b c]");
    expect(errorOf("{{slice .Names 2 1}}", data)).toContain("invalid slice index: 2 > 1");
  });

  test("join, split, lower, upper, title, pad, truncate", () => {
    expect(run('{{join .Names ", "}}|{{join .Nil ","}}|{{join .Ports ","}}', data)).toBe("a, b, c||");
    expect(run('{{split "a:b:c" ":"}}|{{split "abc" ""}}|{{len (split "héllo" "")}}')).toBe("[a b c]|[a b c]|5");
    expect(run('{{lower "ÀB"}}|{{upper "straße"}}|{{title "hello wORLD-foo_bar x.y"}}|{{title "élan vital"}}')).toBe(
      "àb|STRAßE|Hello WORLD-Foo_bar X.Y|Élan Vital",
    );
    expect(run('[{{pad "ab" 1 2}}][{{pad "" 1 2}}]')).toBe("[ ab  ][]");
    expect(run('{{truncate "abcdef" 3}}|{{truncate "ab" 3}}|{{truncate .Id 12}}', data)).toBe("abc|ab|0123456789ab");
  });

  test("print, println, printf", () => {
    expect(run('{{print 1 2 "a" "b" 3 true nil}}')).toBe("1 2ab3 true <nil>");
    expect(run('{{println 1 "a" 2}}')).toBe("1 a 2\n");
    expect(run("{{println}}|{{print}}")).toBe("\n|");
    expect(run('{{printf "%-6s|%5d|%.2f|%q|%t|%v" .Name .Size .Ratio .Name .Running .Names}}', data)).toBe(
      'web   |2133516|0.25|"web"|true|[a b c]',
    );
  });

  test("comparison functions", () => {
    expect(run('{{eq 1 1 2}}|{{eq "a" "b" "a"}}|{{eq nil nil}}|{{eq .Missing "x"}}|{{ne 1 2}}', data)).toBe("true|true|true|false|true");
    expect(run('{{lt 1 2}}|{{le 2 2}}|{{gt "b" "a"}}|{{ge 1 2}}|{{lt "a" "b"}}')).toBe("true|true|true|false|true");
    expect(errorOf('{{eq 1 "a"}}')).toBe(`invalid format "{{eq 1 \\"a\\"}}": executing <eq 1 "a"> at offset 2: error calling eq: incompatible types for comparison`);
    expect(errorOf("{{lt 1 true}}")).toContain("error calling lt: incompatible types for comparison");
    expect(errorOf("{{lt true false}}")).toContain("error calling lt: invalid type for comparison");
    expect(errorOf("{{eq .Names 1}}", data)).toContain("error calling eq: invalid type for comparison");
  });

  test("and/or return an operand and stop early; not negates", () => {
    expect(run('{{and 1 0 2}}|{{or 0 "" "x"}}|{{and 1 2}}|{{or 0 ""}}|{{not 0}}|{{not .Names}}', data)).toBe("0|x|2||true|false");
    // stops before evaluating the failing operand
    expect(run("{{or 1 (index .Names 9)}}|{{and 0 (index .Names 9)}}", data)).toBe("1|0");
  });

  test("html, js, urlquery escape as Go does", () => {
    expect(run("{{html \"<a href='x'>&\\\"</a>\"}}")).toBe("&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;");
    expect(run("{{js \"a'b\\\"c<d>&=\\n\"}}")).toBe("a\\'b\\\"c\\u003Cd\\u003E\\u0026\\u003D\\u000A");
    expect(run('{{urlquery "a b&c=d/é~"}}|{{html 1 2 "x"}}')).toBe("a+b%26c%3Dd%2F%C3%A9~|1 2x");
  });

  test("call calls a function value", () => {
    expect(run("{{call .F 2 3}}", { F: () => (a: number, b: number) => a + b })).toBe("5");
    expect(errorOf("{{call .Name}}", data)).toContain("error calling call: non-function of type string");
  });

  test("argument types are checked as Go checks them", () => {
    expect(errorOf("{{upper 5}}")).toBe(`invalid format "{{upper 5}}": executing <5> at offset 8: wrong type for value; expected string; got int`);
    expect(errorOf("{{upper .Missing}}")).toContain("executing <.Missing> at offset 8: invalid value; expected string");
    expect(errorOf('{{join .Name ","}}', data)).toContain("wrong type for value; expected []string; got string");
    expect(errorOf('{{truncate "a" "b"}}')).toContain("expected int; got string");
    expect(errorOf("{{printf}}")).toContain("wrong number of args for printf: want at least 1 got 0");
    expect(errorOf('{{upper "a" "b"}}')).toContain("wrong number of args for upper: want 1 got 2");
    // JSON null stands in for Go's empty string
    expect(run("[{{upper .Nil}}]", data)).toBe("[]");
  });
});

describe("compileTemplate errors name the template and the offset", () => {
  const cases: [string, string][] = [
    ["{{.Foo", "unclosed action at offset 0"],
    ["ab{{if 1}}x", "unclosed {{if}}: missing {{end}} at offset 2"],
    ["{{range .A}}", "unclosed {{range}}: missing {{end}} at offset 0"],
    ["{{end}}", "unexpected {{end}} at offset 0"],
    ["x{{else}}", "unexpected {{else}} at offset 1"],
    ["{{foo 1}}", 'function "foo" not defined at offset 2'],
    ["{{$x}}", 'undefined variable "$x" at offset 2'],
    ["{{$x = 1}}", 'undefined variable "$x" at offset 2'],
    ["{{}}", "missing value for command at offset 2"],
    ["{{if}}{{end}}", "missing value for if at offset 4"],
    ['{{"abc}}', "unterminated quoted string at offset 2"],
    ["{{`abc}}", "unterminated raw quoted string at offset 2"],
    ['{{"\\q"}}', 'invalid escape in string "\\q" at offset 2'],
    ["{{1a}}", 'bad number syntax: "1a" at offset 2'],
    ['{{.A | "x"}}', "non executable command in pipeline stage 2 at offset 7"],
    ["{{.A |}}", "missing command after | at offset 6"],
    ["{{ (1 }}", "unclosed left paren at offset 6"],
    ["{{ ) }}", 'unexpected ")" at offset 3'],
    ["{{break}}", "{{break}} outside {{range}} at offset 0"],
    ["{{/* c }}", "unclosed comment at offset 0"],
    ["{{/* c */ x}}", "comment ends before closing delimiter at offset 0"],
    ["{{range .L}}{{else}}{{else}}{{end}}", "expected {{end}}; found {{else}} at offset 20"],
    ['{{template "x"}}', "{{template}} is not supported at offset 0"],
    ["{{.A#}}", "bad character U+0023 '#' at offset 4"],
    ["{{.A ; }}", "unrecognized character in action: U+003B ';' at offset 5"],
    ["{{$x, $y := .}}", "too many declarations in command at offset 4"],
    ["{{1.Foo}}", 'bad number syntax: "1.F" at offset 2'],
    ['{{"a".B}}', 'unexpected . after term "\\"a\\"" at offset 5'],
  ];
  for (const [tpl, msg] of cases) {
    test(`${tpl} → ${msg}`, () => {
      expect(errorOf(tpl)).toBe(`invalid format ${JSON.stringify(tpl)}: ${msg}`);
    });
  }

  test("nil and literals are not commands that take arguments", () => {
    expect(errorOf("{{nil}}")).toContain("executing <nil> at offset 2: nil is not a command");
    expect(errorOf('{{"a" 1}}')).toContain(`executing <"a"> at offset 2: can't give argument to non-function "a"`);
  });

  test("errors name the format as typed, with offsets into it", () => {
    const t = () => parseFormatTemplate("{{.ID", { displayed: "table {{.ID", offset: 6 });
    expect(t).toThrow(`invalid format "table {{.ID": unclosed action at offset 6`);
  });
});

describe("parseFormatTemplate options", () => {
  test("textEscapes turns typed \\t and \\n into tab and newline outside actions only", () => {
    const t = parseFormatTemplate('{{.A}}\\t{{.B}}\\n{{join .L "\\n"}}', { textEscapes: true });
    expect(t.render({ A: 1, B: 2, L: ["x", "y"] })).toBe("1\t2\nx\ny");
    expect(parseFormatTemplate("a\\tb").render({})).toBe("a\\tb");
  });

  test("a trim marker trims a converted newline", () => {
    expect(parseFormatTemplate("a\\n{{- .A}}", { textEscapes: true }).render({ A: "b" })).toBe("ab");
  });

  test("tableSpaces makes spaces in text column separators", () => {
    expect(parseFormatTemplate('{{.A}} {{join .L ", "}}', { tableSpaces: true }).render({ A: 1, L: ["x", "y"] })).toBe("1\tx, y");
  });

  test("renderHeader puts each field's header in place and passes it through string functions", () => {
    const t = parseFormatTemplate('{{.ID}}\t{{.Names | join ","}}\t{{upper .Image}}\t{{json .Labels}}\t{{index .Labels "a"}}\t{{printf "%-8s" .Size}}|');
    const header = t.renderHeader((f) => ({ ID: "CONTAINER ID" })[f] ?? f.toUpperCase());
    expect(header).toBe("CONTAINER ID\tNAMES\tIMAGE\tLABELS\tLABELS\tSIZE    |");
    expect(parseFormatTemplate("{{.Config.Labels}}{{range .Names}}{{.}}{{end}}").renderHeader((f) => f)).toBe("ConfigNames");
  });
});

describe("goSprintf", () => {
  // expected values verified against Go 1.24 (docker 28 `version --format '{{printf …}}'`)
  const cases: [string, unknown[], string][] = [
    ["%d|%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%c|%q|%U", [42, 42, 42, -42, 42, 255, 255, 8, 5, 65, 65, 65], "42|   42|42   |-0042|+42|ff|FF|10|101|A|'A'|U+0041"],
    ["%s|%q|%v|%d|%s", [1, "x", null, "s", true], '%!s(int=1)|"x"|<nil>|%!d(string=s)|%!s(bool=true)'],
    ["%s %s", ["a"], "a %!s(MISSING)"],
    ["%s", ["a", "b", 3], "a%!(EXTRA string=b, int=3)"],
    ["%8.3f|%-8.2f|%08.3f|%+.1e|% d|%x|% x|%#x|%10.2s|", [3.14159, 2.5, -3.14159, 12345.678, 5, "hi", "hi", "hi", "hello"], "   3.142|2.50    |-003.142|+1.2e+04| 5|6869|68 69|0x6869|        he|"],
    ["%.10g|%.3g|%.2g|%g|%.0f|%.1f|%5.1f%%", [123456.5, 100, 0.000012345, 100000, 2.5, 0.05, 99.44], "123456.5|100|1.2e-05|100000|2|0.1| 99.4%"],
    ["%q|%+q|%#q|%q", ['héllo\x01\n"', "hé", "a`b", "a\u2028"], '"héllo\\x01\\n\\""|"h\\u00e9"|"a`b"|"a\\u2028"'],
    ["%#q", ["ab"], "`ab`"],
    ["%6.2v|%-4t|%v", [3.14159, true, ["a", "b"]], "   3.1|true|[a b]"],
    ["%s|%q|%d|%x", [["a", "b"], ["a", "b"], ["a", "b"], ["a", "b"]], '[a b]|["a" "b"]|[%!d(string=a) %!d(string=b)]|[61 62]'],
    ["%05s|%-05d|%x", ["ab", 7, 5], "000ab|7    |5"],
    ["%05s|%6.2f|%-8.3e|%+08.2f|%x|% X", ["ab", -1.005, 123456, 3.14159, "héllo", "ab"], "000ab| -1.00|1.235e+05|+0003.14|68c3a96c6c6f|61 62"],
    ["%.0f %.0f %.0f %.0f %.1f %.2f %.3f", [0.5, 1.5, 2.5, 3.5, 0.25, 1.005, 2.0005], "0 2 2 4 0.2 1.00 2.001"],
    ["%e %e %g %g %g %g", [0, 100, 0, 1e-5, 123456, 1234567.5], "0.000000e+00 1.000000e+02 0 1e-05 123456 1.2345675e+06"],
    ["%c|%q|%U|%#U|%q", [233, 233, 233, 233, 10], "é|'é'|U+00E9|U+00E9 'é'|'\\n'"],
    ["%t|%v|%5t|%d", [false, true, true, true], "false|true| true|%!d(bool=true)"],
    ["%*d|%-*d|%.*f|%*d", [5, 1, 4, 2, 2, 3.14159, "x", 3], "    1|2   |3.14|%!(BADWIDTH)3"],
    ["%!|%z|%", [1], "%!!(int=1)|%!z(MISSING)|%!(NOVERB)"],
    ["%6.3v|%-10q|%x|%X", ["abcdef", "hi", -255, "hi"], '   abc|"hi"      |-ff|6869'],
    ["%o|%#o|%O|%#b|%08b|%+.3d|% 5d|%#X", [8, 8, 8, 5, 5, 7, -3, 255], "10|010|0o10|0b101|00000101|+007|   -3|0XFF"],
    ["%3c|%-3c|", [65, 66], "  A|B  |"],
    ["%v %.3v %10.4v|", [0.1, 0.123456, 3.14159265], "0.1 0.123      3.142|"],
    ["%g %g %G", [1e100, 1.5e-10, 1e-10], "1e+100 1.5e-10 1E-10"],
    ["%v|%d", [{ b: 2, a: 1 }, { a: 1 }], "map[a:1 b:2]|map[%!d(string=a):1]"],
    ["%5v|%-5v|", [null, null], "<nil>|<nil>|"],
  ];
  for (const [format, args, want] of cases) {
    test(`${format} ${JSON.stringify(args)}`, () => {
      expect(goSprintf(format, args)).toBe(want);
    });
  }
});

describe("goString and goJson", () => {
  test("goString prints as fmt.Sprint", () => {
    expect(goString([1, "a", [true, null]])).toBe("[1 a [true <nil>]]");
    expect(goString({ b: { c: [] }, a: "x", f: () => 1 })).toBe("map[a:x b:map[c:[]]]");
    expect(goString(undefined)).toBe("<nil>");
  });

  test("goJson indents like json.MarshalIndent and never escapes HTML", () => {
    expect(goJson([{ a: "<b>", n: [] }], 4)).toBe('[\n    {\n        "a": "<b>",\n        "n": []\n    }\n]');
    expect(goJson([], 4)).toBe("[]");
    expect(goJson(undefined)).toBe("null");
  });

  test("goJson matches JSON.stringify's shape for what Go would write alike", () => {
    const v = { Name: "x", List: [1, "a", null, { In: [] }], Empty: {}, Skip: undefined, F: () => 1, N: NaN, Big: 5n };
    expect(goJson(v)).toBe('{"Name":"x","List":[1,"a",null,{"In":[]}],"Empty":{},"N":null,"Big":5}');
    expect(goJson({ A: [{ B: 1 }], C: {} }, 2)).toBe('{\n  "A": [\n    {\n      "B": 1\n    }\n  ],\n  "C": {}\n}');
    expect(goJson({ At: new Date("2024-01-02T03:04:05.000Z") })).toBe('{"At":"2024-01-02T03:04:05Z"}');
  });

  test("goJson sorts map keys as encoding/json does and keeps struct fields in order", () => {
    // Struct fields (identifiers) keep their order; maps sort bytewise, integer-like keys too.
    expect(goJson({ Zeta: 1, Alpha: 2 })).toBe('{"Zeta":1,"Alpha":2}');
    expect(goJson({ "com.b": "1", "a.x": "2", "10": "c", "9": "d" })).toBe('{"10":"c","9":"d","a.x":"2","com.b":"1"}');
    expect(goJson({ Config: { Labels: { b: "1", a: "2" }, Hostname: "h" } })).toBe('{"Config":{"Labels":{"a":"2","b":"1"},"Hostname":"h"}}');
    expect(goJson({ Ports: { "443/tcp": null, "80/tcp": [{ HostPort: "8080", HostIp: "" }] } })).toBe('{"Ports":{"443/tcp":null,"80/tcp":[{"HostPort":"8080","HostIp":""}]}}');
  });

  test("the json function sorts a map reached through a map field", () => {
    expect(run("{{json .Config.Labels}}", { Config: { Labels: { zz: "1", B: "2", aa: "3" } } })).toBe('{"B":"2","aa":"3","zz":"1"}');
  });
});

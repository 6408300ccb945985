/** `--env-file`: docker's format, one `KEY=VALUE` or `KEY` per line, `#` comments. */
import { readFileSync } from "node:fs";
import { CtrError, errorText } from "../errors.ts";

export function parseEnvFile(text: string, file: string): string[] {
  const out: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "").trimStart();
    if (line === "" || line.startsWith("#")) return;
    if (line.startsWith("=")) throw new CtrError(`invalid env file "${file}" line ${i + 1}: variable name is empty`, { kind: "invalid" });
    out.push(line);
  });
  return expandEnv(out);
}

export function readEnvFiles(files: string[]): string[] {
  return files.flatMap((file) => {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new CtrError(`cannot read env file "${file}": ${errorText(err)}`, { kind: "invalid" });
    }
    return parseEnvFile(text, file);
  });
}

/** `-e KEY` copies KEY from ctr's own environment, as docker does; unset means skipped. */
export function expandEnv(items: string[]): string[] {
  return items.flatMap((e) => {
    if (e === "" || e.startsWith("=")) throw new CtrError(`invalid environment variable "${e}"`, { kind: "invalid" });
    if (e.includes("=")) return [e];
    const v = process.env[e];
    return v === undefined ? [] : [`${e}=${v}`];
  });
}

/** `ctr info`: what this host gives a rootless user, and how to fix what is missing. */
import type { CAC } from "cac";
import { stringify } from "yaml";
import { CtrError } from "../errors.ts";
import { collectHostInfo, problems } from "../host/info.ts";
import { VERSION } from "../version.ts";
import type { CommandContext } from "./command.ts";
import { str } from "./options.ts";

export function registerInfo(cli: CAC, ctx: CommandContext): void {
  cli
    .command("info", "Display what this host provides for rootless containers")
    .option("-f, --format <format>", "json, or yaml (default)")
    .action(async (o: Record<string, unknown>) => {
      const info = await collectHostInfo(VERSION);
      const format = str(o.format) ?? "yaml";
      if (format === "json" || format === "{{json .}}") ctx.out(JSON.stringify(info, null, 2));
      else if (format === "yaml") {
        ctx.out(stringify(info).trimEnd());
        const p = problems(info);
        if (p.length) {
          ctx.out("problems:");
          for (const line of p) ctx.out(`  - ${line}`);
        }
      } else throw new CtrError(`unsupported --format "${format}" for info: use json or yaml`, { kind: "invalid" });
      return 0;
    });
}

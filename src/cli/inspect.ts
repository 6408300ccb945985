/** `ctr inspect [-f TEMPLATE] NAME…`: containers (else images) as docker's JSON, or through a Go template. */
import type { CAC } from "cac";
import { CtrError, errorText } from "../errors.ts";
import { inspectImages } from "../image/inspect.ts";
import { containerStore } from "../runtime/container.ts";
import { inspectContainer } from "../runtime/inspect.ts";
import type { CommandContext } from "./command.ts";
import { formatObjects } from "./format/output.ts";
import { str } from "./options.ts";

export function registerInspect(cli: CAC, ctx: CommandContext): void {
  cli
    .command("inspect [...names]", "Display detailed information on containers or images")
    .option("-f, --format <template>", "Format the output using a Go template or json")
    .option("--type <type>", "Only look for this type: container, image or all", { default: "all" })
    .action(async (names: string[], o: Record<string, unknown>) => {
      if (names.length === 0) throw new CtrError("inspect requires at least one name or ID", { kind: "invalid" });
      const type = str(o.type) ?? "all";
      if (!["all", "container", "image"].includes(type)) throw new CtrError(`invalid --type "${type}": expected container, image or all`, { kind: "invalid" });
      const store = containerStore();
      const objects: unknown[] = [];
      let code = 0;
      for (const name of names.map(String)) {
        try {
          if (type !== "image") {
            try {
              objects.push(inspectContainer(store.get(name)));
              continue;
            } catch (err) {
              if (type === "container" || !(err instanceof CtrError) || err.kind !== "not-found") throw err;
            }
          }
          objects.push(...(await inspectImages([name])));
        } catch (err) {
          // docker prints what it found and an error per missing name
          if (err instanceof CtrError && err.kind === "not-found") ctx.err(`Error: no such object: ${name}`);
          else ctx.err(`Error: ${errorText(err)}`);
          code = 125;
        }
      }
      if (objects.length > 0 || code === 0) for (const line of formatObjects(str(o.format), objects)) ctx.out(line);
      return code;
    });
}

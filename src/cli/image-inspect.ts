/** `ctr image inspect IMAGE…`: docker's JSON, or `-f` template per image. */
import type { CAC } from "cac";
import { CtrError } from "../errors.ts";
import { inspectImages } from "../image/inspect.ts";
import type { CommandContext } from "./command.ts";
import { formatObjects } from "./format/output.ts";
import { str } from "./options.ts";

export function registerImageInspect(cli: CAC, ctx: CommandContext): void {
  cli
    .command("image-inspect [...images]", "Display the configuration of images")
    .option("-f, --format <template>", "Format the output using a Go template or json")
    .action(async (names: string[], o: Record<string, unknown>) => {
      if (names.length === 0) throw new CtrError("image inspect requires at least one image", { kind: "invalid" });
      const docs = await inspectImages(names.map(String));
      for (const line of formatObjects(str(o.format), docs)) ctx.out(line);
      return 0;
    });
}

/** `ctr create IMAGE [COMMAND [ARG…]]`: create a container without starting it; prints its ID. */
import type { CAC } from "cac";
import { openImageContext } from "../image/image-context.ts";
import { createContainer } from "../runtime/container.ts";
import type { CommandContext } from "./command.ts";
import { containerFlags, createOptions, pullProgress } from "./run-flags.ts";

export function registerCreate(cli: CAC, ctx: CommandContext): void {
  containerFlags(cli.command("create <image> [...command]", "Create but do not start a container")).action(
    async (image: string, _command: string[], o: Record<string, unknown>) => {
      const opts = { ...createOptions(image, o, ctx), progress: pullProgress() };
      let rec;
      try {
        rec = await createContainer(openImageContext(), opts);
      } finally {
        opts.progress?.close();
      }
      ctx.out(rec.id);
      return 0;
    },
  );
}

/** `ctr create IMAGE [COMMAND [ARG…]]`: create a container without starting it; prints its ID. */
import type { CAC } from "cac";
import type { CommandContext } from "./command.ts";
import { openImageContext } from "../image/image-context.ts";
import type { ContainerRecord } from "../runtime/container-store.ts";
import { createContainer } from "../runtime/container.ts";
import { containerFlags, createOptions, pullProgress } from "./run-flags.ts";

export function registerCreate(cli: CAC, ctx: CommandContext): void {
  containerFlags(cli.command("create <image> [...command]", "Create but do not start a container")).action(
    async (image: string, _command: string[], o: Record<string, unknown>) => {
      const rec = await createFromFlags(image, o, ctx);
      ctx.out(rec.id);
      return 0;
    },
  );
}

/** `create` and `run`: the container from these flags, pulling its image with progress on a terminal. */
export async function createFromFlags(image: string, o: Record<string, unknown>, ctx: CommandContext): Promise<ContainerRecord> {
  const opts = { ...createOptions(image, o, ctx), progress: pullProgress() };
  try {
    return await createContainer(openImageContext(), opts);
  } finally {
    opts.progress?.close();
  }
}

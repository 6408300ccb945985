/** `ctr tag SOURCE TARGET…`: give a local image more names. */
import type { CAC } from "cac";
import { CtrError } from "../errors.ts";
import { openImageContext } from "../image/image-context.ts";
import { tagImage } from "../image/tag.ts";
import type { CommandContext } from "./command.ts";

export function registerTag(cli: CAC, _ctx: CommandContext): void {
  cli.command("tag <image> [...targets]", "Add an additional name to a local image").action(async (image: string, targets: string[]) => {
    if (targets.length === 0) throw new CtrError("tag requires a source image and at least one target name", { kind: "invalid" });
    await tagImage(openImageContext(), String(image), targets.map(String));
    return 0;
  });
}

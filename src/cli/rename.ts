/** `ctr rename CONTAINER NEW_NAME`. */
import type { CAC } from "cac";
import { containerStore, renameContainer } from "../runtime/container.ts";
import type { CommandContext } from "./command.ts";

export function registerRename(cli: CAC, _ctx: CommandContext): void {
  cli.command("rename <container> <name>", "Rename a container").action(async (container: string, name: string) => {
    await renameContainer(containerStore().get(String(container)), String(name));
    return 0;
  });
}

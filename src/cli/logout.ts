/** `ctr logout [REGISTRY | --all]`: forget stored registry credentials. */
import type { CAC } from "cac";
import { CtrError } from "../errors.ts";
import { logout, registryKey, writableAuthFile } from "../image/registry/login.ts";
import type { CommandContext } from "./command.ts";
import { bool, str } from "./options.ts";

export function registerLogout(cli: CAC, ctx: CommandContext): void {
  cli
    .command("logout [registry]", "Log out of a container registry")
    .option("-a, --all", "Remove the credentials of every registry")
    .option("--authfile <file>", "Path of the auth file")
    .action((registry: string | undefined, o: Record<string, unknown>) => {
      const all = bool(o.all);
      if (!registry && !all) throw new CtrError("logout requires a registry (or --all)", { kind: "invalid" });
      logout(all ? undefined : String(registry), writableAuthFile(process.env, str(o.authfile)));
      ctx.out(all ? "Removed login credentials for all registries" : `Removed login credentials for ${registryKey(String(registry))}`);
      return 0;
    });
}

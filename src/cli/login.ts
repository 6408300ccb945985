/** `ctr login [-u USER] [-p PASS | --password-stdin] REGISTRY`: check and store registry credentials. */
import type { CAC } from "cac";
import { CtrError } from "../errors.ts";
import { login, writableAuthFile } from "../image/registry/login.ts";
import type { CommandContext } from "./command.ts";
import { bool, str } from "./options.ts";

export function registerLogin(cli: CAC, ctx: CommandContext): void {
  cli
    .command("login [registry]", "Log in to a container registry")
    .option("-u, --username <user>", "Username")
    .option("-p, --password <password>", "Password (prefer --password-stdin)")
    .option("--password-stdin", "Read the password from stdin")
    .option("--authfile <file>", "Path of the auth file")
    .action(async (positional: string | undefined, o: Record<string, unknown>) => {
      const fromStdin = bool(o.passwordStdin);
      const registry = positional;
      if (!registry) throw new CtrError("login requires a registry", { kind: "invalid" });
      const username = str(o.username);
      let password = str(o.password);
      if (fromStdin) {
        if (password !== undefined) throw new CtrError("--password and --password-stdin are mutually exclusive", { kind: "invalid" });
        password = (await Bun.stdin.text()).replace(/\r?\n$/, "");
      }
      if (!username) throw new CtrError("login needs a username (-u); ctr does not prompt", { kind: "invalid" });
      if (password === undefined || password === "") throw new CtrError("login needs a password (-p or --password-stdin); ctr does not prompt", { kind: "invalid" });
      await login(registry, { username, password }, writableAuthFile(process.env, str(o.authfile)));
      ctx.out("Login Succeeded!");
      return 0;
    });
}

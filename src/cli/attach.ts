/** `ctr attach CONTAINER`: connect our terminal to a running container; Ctrl-P Ctrl-Q detaches. */
import type { CAC } from "cac";
import { attachContainer, parseDetachKeys } from "../runtime/attach.ts";
import { containerStore, waitContainer } from "../runtime/container.ts";
import type { CommandContext } from "./command.ts";
import { bool, str } from "./options.ts";

export function registerAttach(cli: CAC, ctx: CommandContext): void {
  cli
    .command("attach <container>", "Attach to a running container")
    .option("--detach-keys <keys>", "Key sequence for detaching (default ctrl-p,ctrl-q)")
    .option("--no-stdin", "Do not attach STDIN")
    .option("--sig-proxy", "Accepted for compatibility (--sig-proxy=false)")
    .action(async (container: string, o: Record<string, unknown>) => {
      const rec = containerStore().get(String(container));
      const end = await attachContainer(rec, {
        stdin: o.stdin !== false && bool(rec.interactive),
        detachKeys: parseDetachKeys(str(o.detachKeys) ?? "ctrl-p,ctrl-q"),
        onDetach: () => ctx.err("\nread escape sequence"),
      });
      if (end.how === "detached") return 0;
      const code = end.status ?? (await waitContainer(rec));
      return code < 0 ? 0 : code;
    });
}

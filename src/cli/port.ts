/** `ctr port CONTAINER [PRIVATE_PORT[/PROTO]]`: the container's published ports, as docker lists them. */
import type { CAC } from "cac";
import { CtrError } from "../errors.ts";
import { readPorts } from "../network/slirp.ts";
import { containerStore, stateDirOf } from "../runtime/container.ts";
import type { CommandContext } from "./command.ts";

export function registerPort(cli: CAC, ctx: CommandContext): void {
  cli.command("port <container> [port]", "List port mappings or a specific mapping for the container").action(async (container: string, port?: string) => {
    const rec = containerStore().get(String(container));
    const mappings = readPorts(stateDirOf(rec.id));
    const hostAddr = (m: (typeof mappings)[number]) => `${m.hostIP || "0.0.0.0"}:${m.hostPort}`;
    if (port === undefined) {
      for (const m of mappings) ctx.out(`${m.containerPort}/${m.protocol} -> ${hostAddr(m)}`);
      return 0;
    }
    const match = /^(\d+)(?:\/(tcp|udp))?$/.exec(String(port));
    if (!match) throw new CtrError(`invalid port "${port}": expected PORT[/tcp|udp]`, { kind: "invalid" });
    const hits = mappings.filter((m) => m.containerPort === Number(match[1]) && m.protocol === (match[2] ?? "tcp"));
    if (hits.length === 0) throw new CtrError(`no public port "${match[1]}/${match[2] ?? "tcp"}" published for ${rec.name}`, { kind: "not-found", exitCode: 125 });
    for (const m of hits) ctx.out(hostAddr(m));
    return 0;
  });
}

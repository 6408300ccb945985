/**
 * `ctr network create|ls|inspect|rm|connect|disconnect|prune|exists`, as
 * podman spells them, and the monitor's `network-exited` hook.
 */
import type { CAC } from "cac";
import { CtrError, errorText } from "../errors.ts";
import { containerStore, removeWithVolumes } from "../runtime/container.ts";
import { containerLeftNetworks, connectContainer, disconnectContainer } from "../network/lifecycle.ts";
import { inspectNetwork, pruneNetworks, removeNetwork } from "../network/manage.ts";
import { networkStore, type NetworkRecord } from "../network/store.ts";
import type { CommandContext } from "./command.ts";
import { parseFilters, type FilterValue } from "./format/filters.ts";
import { formatObjects, formatRows, type Column } from "./format/output.ts";
import { bool, keyValues, list, str } from "./options.ts";

const NETWORK_FILTERS = ["name", "id", "label", "label!", "driver"] as const;

function networkFilter(filters: Map<string, FilterValue[]>): (n: NetworkRecord) => boolean {
  const one = (key: string, value: string, n: NetworkRecord): boolean => {
    switch (key) {
      case "name":
        return new RegExp(value).test(n.name);
      case "id":
        return n.id.startsWith(value);
      case "driver":
        return n.driver === value;
      case "label": {
        const eq = value.indexOf("=");
        const k = eq < 0 ? value : value.slice(0, eq);
        return k in n.labels && (eq < 0 || n.labels[k] === value.slice(eq + 1));
      }
      default:
        return true;
    }
  };
  return (n) =>
    [...filters].every(([key, values]) =>
      key === "label" ? values.every((f) => one(key, f.value, n) !== f.negate) : values.some((f) => one(key, f.value, n) !== f.negate),
    );
}

/** The first free `ctrN`, as podman names an unnamed network `podmanN`. */
function generatedName(existing: NetworkRecord[]): string {
  for (let i = 1; ; i++) if (!existing.some((n) => n.name === `ctr${i}`)) return `ctr${i}`;
}

export function registerNetwork(cli: CAC, ctx: CommandContext): void {
  cli
    .command("network-create [name]", "Create a network")
    .option("--subnet <cidr>", "IPv4 subnet, e.g. 10.89.5.0/24 (default: the first free 10.89.N.0/24)")
    .option("--gateway <ip>", "Gateway: always the subnet's .2 (slirp4netns's router)")
    .option("--internal", "No outbound access and no published ports")
    .option("-l, --label <label>", "Set metadata on the network (KEY=VALUE)")
    .option("-o, --opt <option>", "Driver options (KEY=VALUE), recorded")
    .option("-d, --driver <driver>", "Driver: bridge")
    .option("--ignore", "Do nothing if the network already exists")
    .action(async (name: string | undefined, o: Record<string, unknown>) => {
      const store = networkStore();
      const wanted = name === undefined ? generatedName(store.list()) : String(name);
      if (bool(o.ignore) && store.find(wanted)?.name === wanted) {
        ctx.out(wanted);
        return 0;
      }
      if (list(o.subnet).length > 1) throw new CtrError("only one --subnet is supported", { kind: "invalid" });
      const net = await store.create(wanted, {
        subnet: str(o.subnet),
        gateway: str(o.gateway),
        internal: bool(o.internal),
        labels: keyValues("label", o.label),
        options: keyValues("opt", o.opt),
        driver: str(o.driver),
      });
      ctx.out(net.name);
      return 0;
    });

  cli
    .command("network-ls", "List networks")
    .option("-q, --quiet", "Print network names only")
    .option("-f, --filter <filter>", "Filter networks (name, id, label, driver)")
    .option("--format <template>", "Pretty-print networks using a Go template")
    .option("--no-trunc", "Do not truncate the network ID")
    .option("-n, --noheading", "Do not print column headings")
    .action((o: Record<string, unknown>) => {
      const given = list(o.filter);
      const keep = given.length > 0 ? networkFilter(parseFilters(given, NETWORK_FILTERS)) : () => true;
      const nets = networkStore().list().filter(keep);
      if (bool(o.quiet)) {
        for (const n of nets) ctx.out(n.name);
        return 0;
      }
      const columns: Column[] = [
        { header: "NETWORK ID", field: "ID" },
        { header: "NAME", field: "Name" },
        { header: "DRIVER", field: "Driver" },
      ];
      const noTrunc = o.trunc === false;
      const rows = nets.map((n) => ({
        ID: noTrunc ? n.id : n.id.slice(0, 12),
        Name: n.name,
        Driver: n.driver,
        NetworkInterface: "br0",
        Created: n.created,
        Subnets: n.subnets,
        Internal: n.internal,
        Labels: n.labels,
        Options: n.options,
      }));
      let lines = formatRows(str(o.format), rows, columns, { ID: "NETWORK ID", Name: "NAME", Driver: "DRIVER" });
      if (bool(o.noheading) && !str(o.format)) lines = lines.slice(1);
      for (const line of lines) ctx.out(line);
      return 0;
    });

  cli
    .command("network-inspect [...names]", "Show details of networks")
    .option("-f, --format <template>", "Format the output using a Go template")
    .action((names: string[], o: Record<string, unknown>) => {
      if (names.length === 0) throw new CtrError("network inspect requires at least one network name", { kind: "invalid" });
      const store = networkStore();
      const shown = names.map((n) => inspectNetwork(store.get(String(n))));
      for (const line of formatObjects(str(o.format), shown)) ctx.out(line);
      return 0;
    });

  cli
    .command("network-rm [...names]", "Remove networks")
    .option("-f, --force", "Remove the containers on the network first")
    .option("-t, --time <seconds>", "Accepted for podman: containers are removed at once with -f")
    .action(async (names: string[], o: Record<string, unknown>) => {
      if (names.length === 0) throw new CtrError("network rm requires at least one network name", { kind: "invalid" });
      const store = networkStore();
      let code = 0;
      for (const name of names.map(String)) {
        try {
          const net = store.get(name);
          await removeNetwork(net, bool(o.force) ? removeWithVolumes : undefined);
          ctx.out(name);
        } catch (err) {
          ctx.err(`Error: ${errorText(err)}`);
          // podman: 1 when the network does not exist; in use or otherwise failed: 125.
          const c = err instanceof CtrError ? (err.kind === "not-found" ? 1 : err.exitCode) : 125;
          if (code === 0 || c === 125) code = c;
        }
      }
      return code;
    });

  cli
    .command("network-prune", "Remove all networks no container uses")
    .option("-f, --force", "Do not prompt for confirmation (ctr never prompts)")
    .option("--filter <filter>", "Only prune networks that match (name, label, driver)")
    .action(async (o: Record<string, unknown>) => {
      const given = list(o.filter);
      const keep = given.length > 0 ? networkFilter(parseFilters(given, NETWORK_FILTERS)) : () => true;
      for (const name of await pruneNetworks(keep)) ctx.out(name);
      return 0;
    });

  cli.command("network-exists <name>", "Exit 0 if the network exists, else 1").action((name: string) => (networkStore().find(String(name)) ? 0 : 1));

  cli
    .command("network-connect <network> <container>", "Connect a container to a network")
    .option("--alias <name>", "Network-scoped alias for the container")
    .option("--ip <address>", "IPv4 address on the network")
    .action(async (network: string, container: string, o: Record<string, unknown>) => {
      const containers = containerStore();
      await connectContainer(networkStore().get(String(network)), containers.get(String(container)), { aliases: list(o.alias), ip: str(o.ip) }, containers);
      return 0;
    });

  cli
    .command("network-disconnect <network> <container>", "Disconnect a container from a network")
    .option("-f, --force", "Accepted for podman")
    .action(async (network: string, container: string) => {
      const containers = containerStore();
      await disconnectContainer(networkStore().get(String(network)), containers.get(String(container)), containers);
      return 0;
    });

  // Run by a container's monitor once it has ended for good (see lifecycle.ts).
  cli.command("network-exited <id>", "Internal: run by a container's monitor when the container has ended").action(async (id: string) => {
    let networks: string[] | undefined;
    try {
      const rec = containerStore().get(String(id));
      networks = Object.keys(rec.network?.networks ?? {});
    } catch {
      // removed already: look through every network
    }
    await containerLeftNetworks(String(id), networks);
    return 0;
  });
}

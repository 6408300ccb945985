/**
 * `-P` / `--publish-all`: every port of the image's `EXPOSE`
 * (`ExposedPorts` in its config) published on a random host port, except
 * those `-p` already publishes, as docker does.
 */
import { CtrError } from "../errors.ts";
import { parsePortSpec } from "./ports.ts";

/**
 * The `-p` specs `-P` adds: `80/tcp` for each exposed port (a range
 * `8000-8002/tcp` stays one spec) not already published by `publish`.
 *
 * @example
 * exposedPortSpecs({ "80/tcp": {}, "53/udp": {} }, ["8080:80"]); // ["53/udp"]
 */
export function exposedPortSpecs(exposed: Record<string, unknown> | undefined, publish: string[]): string[] {
  const taken = new Set(publish.flatMap((p) => {
    const s = parsePortSpec(p);
    return s.containerPorts.map((c) => `${c}/${s.protocol}`);
  }));
  const out: string[] = [];
  for (const key of Object.keys(exposed ?? {})) {
    const slash = key.indexOf("/");
    const spec = slash < 0 ? `${key}/tcp` : key.toLowerCase();
    let parsed;
    try {
      parsed = parsePortSpec(spec);
    } catch {
      // An image may say `EXPOSE 80/sctp`: nothing we can publish, as podman skips it.
      continue;
    }
    const left = parsed.containerPorts.filter((c) => !taken.has(`${c}/${parsed.protocol}`));
    for (const c of left) taken.add(`${c}/${parsed.protocol}`);
    if (left.length === parsed.containerPorts.length) out.push(spec);
    else out.push(...left.map((c) => `${c}/${parsed.protocol}`));
  }
  return out;
}

/**
 * The container's published ports with `-P`'s added.
 *
 * @throws CtrError (kind "invalid") when the mode has no ports of its own to publish
 */
export function withExposedPorts(net: { mode: string; publish: string[] }, exposed: Record<string, unknown> | undefined): string[] {
  const more = exposedPortSpecs(exposed, net.publish);
  if (more.length && net.mode === "container") throw new CtrError(`cannot publish the image's exposed ports (-P) with --network container: the container shares another container's network`, { kind: "invalid" });
  return [...net.publish, ...more];
}

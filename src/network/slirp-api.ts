/**
 * A client of slirp4netns's API socket (one JSON request per connection,
 * one JSON answer), for what ctr does itself rather than through the
 * shim: listing a network's port forwards and removing the stale ones of
 * containers whose monitor was killed (only the monitor removes them
 * otherwise, when its container ends).
 */
import { CtrError } from "../errors.ts";

export interface HostForward {
  id: number;
  proto: string;
  host_addr: string;
  host_port: number;
  guest_addr: string;
  guest_port: number;
}

/**
 * Sends one request; resolves with the answer (its `return` member when it
 * has one). node:net is loaded on first use: most runs never need it.
 */
export async function slirpRequest(socket: string, request: unknown, timeoutMs = 5000): Promise<unknown> {
  const { createConnection } = await import("node:net");
  return new Promise((resolve, reject) => {
    const conn = createConnection({ path: socket });
    let data = "";
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new CtrError(`slirp4netns at "${socket}" did not answer`));
    }, timeoutMs);
    conn.on("connect", () => conn.end(JSON.stringify(request)));
    conn.on("data", (chunk) => (data += chunk.toString()));
    conn.on("error", (err) => {
      clearTimeout(timer);
      reject(new CtrError(`cannot reach slirp4netns at "${socket}"`, { cause: err }));
    });
    conn.on("close", () => {
      clearTimeout(timer);
      try {
        const answer = JSON.parse(data) as { return?: unknown; error?: { desc?: string } };
        if (answer.error) reject(new CtrError(`slirp4netns: ${answer.error.desc ?? JSON.stringify(answer.error)}`));
        // add_hostfwd answers {"return": …}; list_hostfwd answers with the object itself.
        else resolve(answer.return ?? answer);
      } catch {
        reject(new CtrError(`slirp4netns at "${socket}" gave no answer`));
      }
    });
  });
}

export async function listForwards(socket: string): Promise<HostForward[]> {
  const ret = (await slirpRequest(socket, { execute: "list_hostfwd" })) as { entries?: HostForward[] } | undefined;
  return ret?.entries ?? [];
}

/**
 * Removes the forwards for which `stale` holds. Best effort: a forward
 * that cannot be removed stays, and the port check reports its port.
 */
export async function removeForwards(socket: string, stale: (f: HostForward) => boolean): Promise<void> {
  let entries: HostForward[];
  try {
    entries = await listForwards(socket);
  } catch {
    return;
  }
  for (const f of entries.filter(stale)) await slirpRequest(socket, { execute: "remove_hostfwd", arguments: { id: f.id } }).catch(() => {});
}

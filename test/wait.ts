/**
 * Waiting helpers for end-to-end tests of things that come up or go away
 * asynchronously (a server in a container, a port freed by a dying helper).
 * They retry on a condition with a generous limit; they never measure time.
 */
import { createServer, type Server } from "node:net";
import { ctr, type CtrOptions, type CtrResult } from "./helpers.ts";

/** Retries `check` every 100 ms until it holds; false after `limitMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, limitMs = 15_000): Promise<boolean> {
  for (const end = Date.now() + limitMs; ; await Bun.sleep(100)) {
    if (await check()) return true;
    if (Date.now() > end) return false;
  }
}

/** Fetches until the server answers, at most ~15 s; the last error after that. */
export async function fetchRetrying(url: string): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 150; i++) {
    try {
      return await (await fetch(url, { signal: AbortSignal.timeout(3000) })).text();
    } catch (err) {
      last = err;
      await Bun.sleep(100);
    }
  }
  throw last;
}

/** Runs `ctr` until it exits 0 (a server just started may not listen yet), at most ~15 s; the last result. */
export async function ctrRetrying(args: string[], opts: CtrOptions): Promise<CtrResult> {
  let r = await ctr(args, opts);
  for (let i = 0; i < 50 && r.code !== 0; i++) {
    await Bun.sleep(300);
    r = await ctr(args, opts);
  }
  return r;
}

/** A free TCP port on the host, as the kernel picks one. */
export async function freePort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

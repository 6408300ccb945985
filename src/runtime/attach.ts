/**
 * `attach`: connects to a detached container's monitor through its attach
 * socket (framing in shim/PROTOCOL.md) and relays our terminal to it until
 * the container ends or the user types the detach keys.
 */
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { CtrError } from "../errors.ts";
import type { ContainerRecord } from "./container-store.ts";
import { stateDirOf } from "./container.ts";
import { readLiveState } from "./state.ts";

/** `--detach-keys` (`ctrl-p,ctrl-q`, `a`, `ctrl-@` …) as bytes; empty disables detaching. */
export function parseDetachKeys(spec: string): number[] {
  if (spec === "") return [];
  return spec.split(",").map((k) => {
    const m = /^ctrl-(.)$/.exec(k);
    if (m) {
      const c = m[1]!.toLowerCase();
      if (c >= "a" && c <= "z") return c.charCodeAt(0) - 96;
      const special: Record<string, number> = { "@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, _: 31 };
      if (c in special) return special[c]!;
    } else if (k.length === 1) return k.charCodeAt(0);
    throw new CtrError(`invalid detach keys "${spec}": expected keys such as ctrl-p,ctrl-q`, { kind: "invalid" });
  });
}

/**
 * Watches typed input for the detach keys: returns, for each chunk, the
 * bytes to pass on and whether the sequence is complete. A partial
 * sequence that does not complete is the user's input after all.
 */
export function detachKeyFilter(keys: number[]): (chunk: Uint8Array) => { out: Uint8Array; detach: boolean } {
  let matched = 0;
  return (chunk) => {
    const out: number[] = [];
    for (const b of chunk) {
      if (keys.length > 0 && b === keys[matched]) {
        matched++;
        if (matched === keys.length) return { out: Uint8Array.from(out), detach: true };
        continue;
      }
      if (matched > 0) out.push(...keys.slice(0, matched));
      matched = 0;
      out.push(b);
    }
    return { out: Uint8Array.from(out), detach: false };
  };
}

export interface AttachOptions {
  /** Send our stdin (`--no-stdin` turns it off). */
  stdin: boolean;
  detachKeys: number[];
  /** The container was started for us (`run -it`): it may already have ended. */
  justStarted?: boolean;
  /** Notified (once) when the user detached with the detach keys. */
  onDetach?: () => void;
}

function frame(type: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(3 + payload.length);
  out[0] = type.charCodeAt(0);
  out[1] = payload.length >> 8;
  out[2] = payload.length & 0xff;
  out.set(payload, 3);
  return out;
}

export type AttachEnd = { how: "ended"; status?: number } | { how: "detached" };

/**
 * Relays until the container ends (with its status, when the monitor sent
 * it) or the user detaches.
 */
export async function attachContainer(rec: ContainerRecord, opts: AttachOptions): Promise<AttachEnd> {
  const stateDir = stateDirOf(rec.id);
  const state = readLiveState(stateDir);
  if (state.status !== "running" && !opts.justStarted) throw new CtrError(`container ${rec.name} is not running: you cannot attach to it`, { kind: "conflict" });
  // sun_path holds 108 bytes; the state dir may be deeper. Reach it through an fd.
  const dirFd = openSync(stateDir, "r");
  let socket: Awaited<ReturnType<typeof Bun.connect>>;
  let resolveDone!: (end: AttachEnd) => void;
  const done = new Promise<AttachEnd>((r) => (resolveDone = r));
  let pending = new Uint8Array(0);
  let status: number | undefined;
  try {
    socket = await Bun.connect({
      unix: join(`/proc/self/fd/${dirFd}`, "attach.sock"),
      socket: {
        data(_s, chunk) {
          const buf = new Uint8Array(pending.length + chunk.length);
          buf.set(pending);
          buf.set(chunk, pending.length);
          let at = 0;
          while (buf.length - at >= 3) {
            const len = (buf[at + 1]! << 8) | buf[at + 2]!;
            if (buf.length - at < 3 + len) break;
            const data = buf.subarray(at + 3, at + 3 + len);
            if (buf[at] === 0x65) status = Number(new TextDecoder().decode(data));
            else (buf[at] === 0x32 ? process.stderr : process.stdout).write(data);
            at += 3 + len;
          }
          pending = buf.slice(at);
        },
        close() {
          resolveDone({ how: "ended", status });
        },
        error() {
          resolveDone({ how: "ended", status });
        },
      },
    });
  } catch (err) {
    throw new CtrError(`cannot attach to container ${rec.name}: its monitor does not answer`, { cause: err });
  } finally {
    closeSync(dirFd);
  }

  const send = (type: string, payload: Uint8Array) => socket.write(frame(type, payload));
  const tty = process.stdin.isTTY && opts.stdin;
  const sendSize = () => {
    const rows = process.stdout.rows ?? 0;
    const cols = process.stdout.columns ?? 0;
    if (rows > 0) send("w", new Uint8Array([rows >> 8, rows & 0xff, cols >> 8, cols & 0xff]));
  };
  if (process.stdout.isTTY) {
    sendSize();
    process.stdout.on("resize", sendSize);
  }
  const filter = detachKeyFilter(opts.detachKeys);
  const onInput = (chunk: Buffer) => {
    const { out, detach } = filter(chunk);
    // Typed before the keys: still the user's input.
    for (let i = 0; i < out.length; i += 60000) send("i", out.subarray(i, i + 60000));
    if (detach) resolveDone({ how: "detached" });
  };
  const onEnd = () => send("c", new Uint8Array(0));
  if (opts.stdin) {
    if (tty) process.stdin.setRawMode(true);
    process.stdin.on("data", onInput);
    process.stdin.on("end", onEnd);
    process.stdin.resume();
  }
  try {
    const end = await done;
    if (end.how === "detached") opts.onDetach?.();
    return end;
  } finally {
    process.stdout.off("resize", sendSize);
    if (opts.stdin) {
      process.stdin.off("data", onInput);
      process.stdin.off("end", onEnd);
      if (tty) process.stdin.setRawMode(false);
      process.stdin.pause();
    }
    socket.end();
  }
}

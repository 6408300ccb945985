/**
 * Reads a container's log file (written by its monitor in the k8s-file
 * format, see shim/PROTOCOL.md) and follows it while the container runs.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { CtrError } from "../errors.ts";

export interface LogRecord {
  /** RFC 3339 with nanoseconds, as written. */
  time: string;
  /** Unix ms of `time`. */
  ms: number;
  stream: "stdout" | "stderr";
  /** The line without its newline (partial records already joined). */
  text: string;
  /** False when the output ended without a newline. */
  newline: boolean;
}

export interface LogOptions {
  follow: boolean;
  /** Last N records; undefined for all. */
  tail?: number;
  /** Unix ms bounds. */
  since?: number;
  until?: number;
  /** Whether the container still runs (follow stops once it does not and the file is drained). */
  running: () => boolean;
  /** Returns false to stop reading (the reader has gone). */
  emit: (rec: LogRecord) => boolean;
}

/** Parses complete lines of a log file; partial ("P") records are joined with what follows. */
export class LogParser {
  private pending: { time: string; stream: "stdout" | "stderr"; text: string } | undefined;

  /** Records for the given complete lines. */
  parse(lines: string[]): LogRecord[] {
    const out: LogRecord[] = [];
    for (const line of lines) {
      const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/s.exec(line);
      if (!m) continue;
      const [, time, stream, tag, text] = m as unknown as [string, string, "stdout" | "stderr", string, string];
      const head = this.pending && this.pending.stream === stream ? this.pending : undefined;
      if (this.pending && !head) out.push(this.toRecord(this.pending, false));
      const joined = { time: head?.time ?? time, stream, text: (head?.text ?? "") + text };
      this.pending = undefined;
      if (tag === "P") this.pending = joined;
      else out.push(this.toRecord(joined, true));
    }
    return out;
  }

  /** The partial record still held, once no more output can come. */
  flush(): LogRecord[] {
    const p = this.pending;
    this.pending = undefined;
    return p ? [this.toRecord(p, false)] : [];
  }

  private toRecord(p: { time: string; stream: "stdout" | "stderr"; text: string }, newline: boolean): LogRecord {
    return { ...p, ms: Date.parse(p.time), newline };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Emits the log's records (after `since`, before `until`, the last `tail`), then follows it if asked. */
export async function readLogs(path: string, opts: LogOptions): Promise<void> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new CtrError(`cannot read the log file "${path}"`, { cause: err });
    if (!opts.follow) return;
    // Not started yet: nothing to show until its monitor creates the file.
    for (;;) {
      await sleep(100);
      try {
        fd = openSync(path, "r");
        break;
      } catch {
        if (!opts.running()) return;
      }
    }
  }
  const parser = new LogParser();
  const decoder = new TextDecoder();
  const buf = Buffer.alloc(64 * 1024);
  let carry = "";
  const keep = (r: LogRecord) => (opts.since === undefined || r.ms >= opts.since) && (opts.until === undefined || r.ms <= opts.until);
  const readAvailable = (): LogRecord[] => {
    const records: LogRecord[] = [];
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      carry += decoder.decode(buf.subarray(0, n), { stream: true });
      const nl = carry.lastIndexOf("\n");
      if (nl < 0) continue;
      records.push(...parser.parse(carry.slice(0, nl).split("\n")));
      carry = carry.slice(nl + 1);
    }
    return records.filter(keep);
  };
  try {
    let first = readAvailable();
    if (!opts.follow) first.push(...parser.flush().filter(keep));
    if (opts.tail !== undefined) first = opts.tail > 0 ? first.slice(-opts.tail) : [];
    const emitAll = (records: LogRecord[]) => records.every((r) => opts.emit(r));
    if (!emitAll(first) || !opts.follow) return;
    for (;;) {
      // Checked before the read: output written before the container ended is never missed.
      const running = opts.running();
      if (!emitAll(readAvailable())) return;
      if (!running || (opts.until !== undefined && Date.now() > opts.until)) break;
      await sleep(100);
    }
    emitAll(parser.flush().filter(keep));
  } finally {
    closeSync(fd);
  }
}

/**
 * A `--since`/`--until` value: RFC 3339 time, unix seconds (with optional
 * fraction), or a duration before now (`10m`, `1h30m`, `42s`).
 */
export function parseLogTime(flag: string, value: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const dur = /^((\d+(\.\d+)?)(ns|us|µs|ms|s|m|h))+$/.test(value);
  if (dur) {
    const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    let ms = 0;
    for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * unit[m[2]!]!;
    return now - ms;
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new CtrError(`invalid --${flag} "${value}": expected a time (RFC 3339 or unix seconds) or a duration such as 10m`, { kind: "invalid" });
  return t;
}

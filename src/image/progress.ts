/**
 * Per-blob transfer progress for pull and push, as podman draws it on a
 * terminal: one line per blob, `Copying blob sha256:abcd… 12.3MiB / 29.1MiB`,
 * redrawn in place while the bytes flow. Pull and push only report bytes;
 * whether anything is drawn is the command's choice (a terminal, no `-q`),
 * and without a reporter they print their plain lines as before.
 */

/** One blob's transfer. */
export interface BlobProgress {
  /** `n` more bytes arrived (or left). */
  add(n: number): void;
  /** The transfer ended; `note` replaces the byte counts ("skipped: already exists"). */
  done(note?: string): void;
}

export interface ProgressReporter {
  /** A blob of `size` bytes starts; its line appears now. */
  blob(kind: "blob" | "config", digest: string, size: number): BlobProgress;
  /** A plain line (e.g. "Writing manifest to image destination") below the blob lines. */
  line(text: string): void;
  /** Draws the final state; call once, before printing anything else. */
  close(): void;
}

/**
 * Sizes in binary units as podman prints them: one decimal in progress
 * bars (the default), two in `stats`.
 */
export function binarySize(bytes: number, decimals = 1): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v}B` : `${v.toFixed(decimals)}${units[u]}`;
}

interface Bar {
  kind: string;
  digest: string;
  size: number;
  done: number;
  note?: string;
  finished: boolean;
}

/** Redraws at most this often while bytes flow; starts, ends and close draw at once. */
const REDRAW_MS = 100;

/**
 * Draws blob lines on a terminal with ANSI cursor movement: the block of
 * lines is rewritten from its top each time (cursor up, clear line), so it
 * must be the last thing on the screen; `line` ends the block and starts a
 * new one below it.
 *
 * @param write raw output to the terminal (no newline added)
 * @param columns the terminal's width: longer lines are cut, since a line
 *   that wraps would throw off the cursor movement
 * @param rows the terminal's height: the cursor cannot go up past the top
 *   of the screen, so when the block would grow taller, finished lines are
 *   drawn first, for the last time, and left to scroll away
 */
export function terminalProgress(write: (text: string) => void, columns = 80, rows = 24): ProgressReporter {
  let bars: Bar[] = [];
  let drawn = 0;
  let last = 0;

  const text = (b: Bar) => {
    const counts = b.note ?? (b.finished ? `${binarySize(b.size)} / ${binarySize(b.size)} done` : `${binarySize(b.done)} / ${binarySize(b.size)}`);
    return `Copying ${b.kind} ${b.digest.slice(0, 19)}… ${counts}`.slice(0, Math.max(20, columns - 1));
  };
  const draw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - last < REDRAW_MS) return;
    last = now;
    let out = drawn > 0 ? `\x1b[${drawn}A` : "";
    const tall = bars.length > Math.max(2, rows - 2);
    if (tall) bars = [...bars.filter((b) => b.finished), ...bars.filter((b) => !b.finished)];
    for (const b of bars) out += `\r\x1b[2K${text(b)}\n`;
    if (tall) bars = bars.filter((b) => !b.finished);
    drawn = bars.length;
    write(out);
  };
  return {
    blob(kind, digest, size) {
      const bar: Bar = { kind, digest, size, done: 0, finished: false };
      bars.push(bar);
      draw(true);
      return {
        add(n) {
          bar.done = Math.min(bar.size, bar.done + n);
          draw(false);
        },
        done(note) {
          bar.finished = true;
          bar.done = bar.size;
          bar.note = note;
          draw(true);
        },
      };
    },
    line(t) {
      // The block so far stays as drawn; a blob still running gets a fresh line below.
      draw(true);
      const live = bars.filter((b) => !b.finished);
      write(`${t}\n`);
      bars = live;
      drawn = 0;
      if (live.length > 0) draw(true);
    },
    close() {
      draw(true);
      bars = [];
      drawn = 0;
    },
  };
}

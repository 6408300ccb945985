/** Column output and the human units docker prints (`5.3MB`, `2 hours ago`). */

export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join("").trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

/** Decimal units, as docker's go-units HumanSize. */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${Number(v.toPrecision(3))}${units[u]}`;
}

export function since(iso: string, now = Date.now()): string {
  const s = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (Number.isNaN(s)) return "";
  if (s < 1) return "Less than a second ago";
  const steps: [number, string][] = [[60, "second"], [60, "minute"], [24, "hour"], [7, "day"], [4.35, "week"], [12, "month"], [Infinity, "year"]];
  let v = s;
  for (const [size, name] of steps) {
    if (v < size) {
      const n = Math.floor(v);
      return n === 1 ? `About a${name === "hour" ? "n" : ""} ${name} ago` : `${n} ${name}s ago`;
    }
    v /= size;
  }
  return "";
}

/**
 * The human units docker prints (`5.3MB`, `2 hours ago`). Tables are
 * format/output.ts's `formatRows`, default and `--format table …` alike.
 */

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

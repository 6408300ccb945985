/**
 * `isIP` as node:net spells it, without loading node:net: every `run`
 * validates addresses, and loading that module costs a few milliseconds of
 * a container's start.
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** 4 or 6 for an IPv4 or IPv6 address, else 0. */
export function isIP(text: string): 0 | 4 | 6 {
  if (IPV4.test(text)) return 4;
  // The URL parser knows every IPv6 spelling (::, embedded IPv4); only
  // hex digits, colons and dots may appear, so nothing else can slip in.
  if (!text.includes(":") || !/^[0-9a-fA-F:.]+$/.test(text)) return 0;
  try {
    new URL(`http://[${text}]/`);
    return 6;
  } catch {
    return 0;
  }
}

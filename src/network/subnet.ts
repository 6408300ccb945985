/**
 * IPv4 subnets of user-defined networks: parsing `--subnet`, overlap, and
 * the fixed layout slirp4netns imposes on a network's subnet S: S.1 the
 * bridge in the holder namespace, S.2 slirp's router (the containers'
 * gateway), S.3 slirp's DNS forwarder, containers from S.4 up to the last
 * address before the broadcast.
 */
import { CtrError } from "../errors.ts";

export interface Subnet {
  /** The network address as a 32-bit unsigned number. */
  base: number;
  prefix: number;
}

/** Dotted quad → unsigned 32-bit number; undefined when it is not one. */
export function ipToNumber(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** The smallest subnet that still has room for the bridge, router, DNS and a container. */
const MAX_PREFIX = 29;

/**
 * Parses `A.B.C.D/N`. Host bits must be zero, as podman requires.
 *
 * @example
 * parseSubnet("10.89.1.0/24"); // { base: 173605120, prefix: 24 }
 * @throws CtrError (kind "invalid") naming the value
 */
export function parseSubnet(text: string): Subnet {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  const base = m ? ipToNumber(m[1]!) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (text.includes(":")) throw new CtrError(`invalid subnet "${text}": IPv6 subnets are not supported yet`, { kind: "invalid" });
  if (!m || base === undefined || prefix < 1 || prefix > 32) throw new CtrError(`invalid subnet "${text}": expected an IPv4 CIDR such as 10.89.1.0/24`, { kind: "invalid" });
  if (prefix > MAX_PREFIX) throw new CtrError(`invalid subnet "${text}": a network needs at least a /${MAX_PREFIX}`, { kind: "invalid" });
  if ((base & ~maskOf(prefix)) >>> 0 !== 0) {
    throw new CtrError(`invalid subnet "${text}": host bits are set (did you mean ${numberToIp((base & maskOf(prefix)) >>> 0)}/${prefix}?)`, { kind: "invalid" });
  }
  return { base, prefix };
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
}

export function formatSubnet(s: Subnet): string {
  return `${numberToIp(s.base)}/${s.prefix}`;
}

/** Number of addresses in the subnet. */
export function sizeOf(s: Subnet): number {
  return 2 ** (32 - s.prefix);
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return a.base < b.base + sizeOf(b) && b.base < a.base + sizeOf(a);
}

export function contains(s: Subnet, ip: number): boolean {
  return ip >= s.base && ip < s.base + sizeOf(s);
}

/** S.1: the bridge's own address in the holder namespace. */
export function bridgeAddress(s: Subnet): string {
  return numberToIp(s.base + 1);
}

/** S.2: slirp4netns's router, every container's gateway. */
export function gatewayAddress(s: Subnet): string {
  return numberToIp(s.base + 2);
}

/** S.3: slirp4netns's DNS forwarder. */
export function dnsAddress(s: Subnet): string {
  return numberToIp(s.base + 3);
}

/** First and last address a container may have. */
export function containerRange(s: Subnet): { first: number; last: number } {
  return { first: s.base + 4, last: s.base + sizeOf(s) - 2 };
}

/**
 * The first free `10.89.N.0/24` (N from 1: podman's own default network
 * is 10.89.0.0/24) that overlaps none of `taken`.
 */
export function defaultSubnet(taken: Subnet[]): Subnet {
  for (let n = 1; n < 256; n++) {
    const s = parseSubnet(`10.89.${n}.0/24`);
    if (!taken.some((t) => overlaps(s, t))) return s;
  }
  throw new CtrError("no free subnet left in 10.89.0.0/16: give one with --subnet", { kind: "conflict" });
}

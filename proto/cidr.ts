// IPv4 addresses and CIDR blocks, and the rule for a network's subnet: one copy for the
// CLI (`network create --subnet`), the manager (its allocator and flags) and the agent
// (overlay plan, DNS askers), so every side accepts exactly the same text.

export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export class CidrError extends Error {
  override name = 'CidrError';
}

/** Each host leases a /24 of every network, so a network's subnet holds at least one. */
export const HOST_PREFIX_LEN = 24;
/** The largest subnet a network may have. */
export const MIN_NETWORK_PREFIX = 8;

/** "10.42.0.7" -> its unsigned 32-bit number; undefined when not a dotted IPv4 address. */
export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return octets.reduce((acc, o) => acc * 256 + o, 0);
}

/**
 * Parses `a.b.c.d/n` (surrounding spaces and leading zeros allowed). Throws a CidrError
 * whose message names `label` (a flag such as `--subnet`, or "subnet") and the problem;
 * host bits set are an error that suggests the network address.
 */
export function parseCidr(text: string, label = 'subnet'): Cidr {
  return parseBlock(text, label, 0, 32, '');
}

/** Like parseCidr, for values another part produced (leases): undefined instead of an error. */
export function tryParseCidr(text: string): Cidr | undefined {
  try {
    return parseCidr(text);
  } catch {
    return undefined;
  }
}

/**
 * Blocks no overlay network may use: packets to them never reach a container (loopback,
 * link-local, multicast, reserved) or mean "this host" (0.0.0.0/8).
 */
export const RESERVED_BLOCKS: ReadonlyArray<{ block: string; what: string }> = [
  { block: '0.0.0.0/8', what: '"this network"' },
  { block: '127.0.0.0/8', what: 'loopback' },
  { block: '169.254.0.0/16', what: 'link-local' },
  { block: '224.0.0.0/4', what: 'multicast' },
  { block: '240.0.0.0/4', what: 'reserved' },
];

/**
 * A network's subnet: a CIDR from /8 to /24 (each host leases a /24 of it), clear of
 * RESERVED_BLOCKS. Throws a CidrError naming `label` and the problem.
 */
export function parseNetworkSubnet(text: string, label = 'subnet'): Cidr {
  const c = parseBlock(
    text,
    label,
    MIN_NETWORK_PREFIX,
    HOST_PREFIX_LEN,
    ` (each host gets a /${HOST_PREFIX_LEN} of it)`,
  );
  for (const r of RESERVED_BLOCKS) {
    if (overlaps(c, parseCidr(r.block)))
      throw new CidrError(`invalid ${label} "${text}": it overlaps ${r.block} (${r.what}), which no network may use`);
  }
  return c;
}

function parseBlock(text: string, label: string, minPrefix: number, maxPrefix: number, why: string): Cidr {
  const bad = (problem: string): CidrError => new CidrError(`invalid ${label} "${text}": ${problem}`);
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text.trim());
  if (!m) throw bad('expected an IPv4 CIDR like 10.43.0.0/16');
  const address = parseIpv4(m[1]!);
  if (address === undefined) throw bad('each part of the address must be between 0 and 255');
  const prefix = Number(m[2]);
  if (prefix < minPrefix || prefix > maxPrefix) {
    throw bad(
      minPrefix === 0
        ? `the prefix length must be at most /${maxPrefix}`
        : `the prefix length must be between /${minPrefix} and /${maxPrefix}${why}`,
    );
  }
  const c = { base: mask(address, prefix), prefix };
  if (c.base !== address) throw bad(`host bits are set (did you mean ${formatCidr(c)}?)`);
  return c;
}

function mask(address: number, prefix: number): number {
  const size = 2 ** (32 - prefix);
  return Math.floor(address / size) * size;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

/** How many addresses the block holds. */
export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function contains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + size(c);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

/** The i-th block of length `prefix` inside `c`. */
export function nthSubnet(c: Cidr, prefix: number, i: number): Cidr {
  return { base: c.base + i * 2 ** (32 - prefix), prefix };
}

// IPv4 CIDR arithmetic for subnet allocation.

export interface Cidr {
  base: number; // network address as an unsigned 32-bit number
  prefix: number;
}

export class CidrError extends Error {
  override name = 'CidrError';
}

export function parseCidr(text: string): Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  if (!m) throw new CidrError(`invalid subnet "${text}": expected a.b.c.d/n`);
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) throw new CidrError(`invalid subnet "${text}"`);
  const addr = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((addr & mask) >>> 0 !== addr)
    throw new CidrError(
      `invalid subnet "${text}": host bits are set (did you mean ${formatCidr({ base: (addr & mask) >>> 0, prefix })}?)`,
    );
  return { base: addr, prefix };
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const aEnd = a.base + size(a);
  const bEnd = b.base + size(b);
  return a.base < bEnd && b.base < aEnd;
}

/** The i-th subnet of length `prefix` inside `c`. */
export function nthSubnet(c: Cidr, prefix: number, i: number): Cidr {
  return { base: c.base + i * 2 ** (32 - prefix), prefix };
}

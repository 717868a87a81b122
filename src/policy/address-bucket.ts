import { isIP } from 'node:net';

/**
 * The part of an address that failed-login throttling counts by (SPEC §3.3): an IPv4 address as it
 * is, an IPv6 address by its /64 (one host, or one home, usually holds a whole /64 and can pick any
 * address in it). IPv4-mapped IPv6 addresses ("::ffff:192.0.2.1", an IPv4 peer on a dual-stack
 * socket) count as the IPv4 address. Returns null for anything that is not an IP address.
 */
export function addressBucket(address: string): string | null {
  const withoutZone = address.trim().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(withoutZone);
  const plain = mapped ? mapped[1] : withoutZone;
  const family = isIP(plain);
  if (family === 4) return plain;
  if (family !== 6) return null;
  const groups = ipv6Groups(plain);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, lower-case without leading zeros ("::" expanded, a trailing dotted IPv4 part converted). */
function ipv6Groups(address: string): string[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((group) => parseInt(group, 16).toString(16));
}

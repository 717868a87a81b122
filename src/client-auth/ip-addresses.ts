import { BlockList, isIP } from 'node:net';

/** "::ffff:10.0.0.1" (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
export function normalizeIp(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}

/** A matcher for a list of addresses and CIDR ranges (as TRUSTED_PROXIES is written). */
export function addressMatcher(entries: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return (raw) => {
    if (!raw) return false;
    const address = normalizeIp(raw);
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/**
 * Addresses that are not on the public internet: loopback, RFC 1918 and RFC 4193 private ranges,
 * link-local, carrier-grade NAT, multicast, documentation and reserved ranges, and the IPv6
 * transition prefixes (NAT64, 6to4, Teredo) that can embed any of those IPv4 addresses.
 */
const NON_PUBLIC = addressMatcher([
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  '64:ff9b::/96',
  '64:ff9b:1::/48',
  '100::/64',
  '2001::/32',
  '2001:db8::/32',
  '2002::/16',
  'fc00::/7',
  'fe80::/10',
  'fec0::/10',
  'ff00::/8',
]);

export function isPublicAddress(address: string): boolean {
  return isIP(normalizeIp(address)) !== 0 && !NON_PUBLIC(address);
}

/**
 * The address a failure counter is kept for: an IPv4 address as it is, an IPv6 address as its /64
 * (one host or home usually holds a whole /64, so counting single IPv6 addresses would let it
 * rotate through billions of them).
 */
export function addressKey(raw: string | undefined): string {
  const address = normalizeIp(raw ?? '').split('%')[0].toLowerCase();
  if (isIP(address) !== 6) return address;
  const [head, tail] = address.split('::');
  const front = head ? head.split(':') : [];
  const back = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? front : [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}

import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

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

/** A host that is, or resolves to, an address that is not public (JWKS_URI_BLOCK_PRIVATE). */
export class NonPublicAddressError extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`${host === address ? `${host} is` : `${host} resolves to ${address || 'nothing'},`} not a public address (JWKS_URI_BLOCK_PRIVATE)`);
  }
}

/**
 * The guard of outgoing requests to hosts a client names (its jwks_uri, its backchannel_logout_uri)
 * when JWKS_URI_BLOCK_PRIVATE=true: the NonPublicAddressError for a URL whose host is an IP literal
 * that is not public (a literal is connected to without a lookup, so it is checked here), else null.
 * Hostnames are checked by {@link publicOnlyLookup} on the addresses actually connected to.
 */
export function nonPublicLiteral(url: URL): NonPublicAddressError | null {
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  return isIP(literal) && !isPublicAddress(literal) ? new NonPublicAddressError(literal, literal) : null;
}

/**
 * dns.lookup that fails with NonPublicAddressError when any address of the host is not public.
 * Given as the `lookup` of http(s).request, it checks the very addresses the socket connects to,
 * so a name that resolves to a public address once and to 127.0.0.1 the next time (DNS rebinding)
 * cannot slip past a check made earlier.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused || addresses.length === 0) return callback(new NonPublicAddressError(hostname, refused?.address ?? ''), '', 0);
    if (options.all) return (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
    return callback(null, addresses[0].address, addresses[0].family);
  });
};

/**
 * The NonPublicAddressError for `url` as its host resolves now (an IP literal, or a name looked up
 * with {@link publicOnlyLookup}), or null: all its addresses are public, or the name does not resolve
 * (yet). For registration, where it turns a URL that cannot be used into a 400 early; the check that
 * counts is the one at connection time.
 */
export function nonPublicHost(url: URL): Promise<NonPublicAddressError | null> {
  if (isIP(url.hostname.replace(/^\[|\]$/g, ''))) return Promise.resolve(nonPublicLiteral(url));
  return new Promise((resolve) => {
    publicOnlyLookup(url.hostname, { all: true }, (error) => resolve(error instanceof NonPublicAddressError ? error : null));
  });
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

import { addressKey, addressMatcher, isPublicAddress, NonPublicAddressError, nonPublicHost, nonPublicLiteral, normalizeIp, publicOnlyLookup } from './ip-addresses';

describe('ip-addresses', () => {
  it(`${normalizeIp.name} reads IPv4-mapped IPv6 addresses as IPv4`, () => {
    expect(normalizeIp('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeIp('::FFFF:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeIp('2001:db8::1')).toBe('2001:db8::1');
  });

  it(`${addressKey.name} keeps IPv4 addresses and reduces IPv6 addresses to their /64`, () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:DB8:1:2::99')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('2001:0db8:0000:0002:ffff::1')).toBe('2001:db8:0:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it(`${addressMatcher.name} matches addresses and CIDR ranges, IPv4 peers on dual-stack sockets included`, () => {
    const trusted = addressMatcher(['127.0.0.1', '10.0.0.0/8', 'fd00::/64']);
    expect(trusted('127.0.0.1')).toBe(true);
    expect(trusted('::ffff:127.0.0.1')).toBe(true);
    expect(trusted('10.255.0.9')).toBe(true);
    expect(trusted('fd00::abcd')).toBe(true);
    expect(trusted('127.0.0.2')).toBe(false);
    expect(trusted('11.0.0.1')).toBe(false);
    expect(trusted('fd00:0:0:1::1')).toBe(false);
    expect(trusted(undefined)).toBe(false);
    expect(trusted('not-an-ip')).toBe(false);
    expect(addressMatcher([])('127.0.0.1')).toBe(false);
  });

  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    '::ffff:10.0.0.1',
    '::ffff:127.0.0.1',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'ff02::1',
    '64:ff9b::a00:1',
    '2002:a00:1::1',
    '2001:db8::1',
    'localhost',
  ])('%s is not public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('%s is public', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});

describe('the outgoing-request guard (JWKS_URI_BLOCK_PRIVATE)', () => {
  it.each(['http://127.0.0.1:8080/x', 'https://[::1]/x', 'http://10.0.0.1/x', 'http://169.254.169.254/latest/meta-data', 'http://[::ffff:127.0.0.1]/x'])('refuses the IP literal of %s', (uri) => {
    expect(nonPublicLiteral(new URL(uri))).toBeInstanceOf(NonPublicAddressError);
  });

  it('leaves names and public literals to the lookup', () => {
    expect(nonPublicLiteral(new URL('https://8.8.8.8/x'))).toBeNull();
    expect(nonPublicLiteral(new URL('http://localhost/x'))).toBeNull();
  });

  it('the lookup refuses a name that resolves to loopback, whichever address family is asked for', async () => {
    for (const options of [{}, { all: true }, { family: 4 }]) {
      const error = await new Promise<Error | null>((resolve) => publicOnlyLookup('localhost', options, (e) => resolve(e)));
      expect(error).toBeInstanceOf(NonPublicAddressError);
      expect(error!.message).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), not a public address \(JWKS_URI_BLOCK_PRIVATE\)$/);
    }
  });

  it('nonPublicHost checks literals and resolved names, and lets public literals through', async () => {
    expect((await nonPublicHost(new URL('http://127.0.0.1/x')))?.message).toBe('127.0.0.1 is not a public address (JWKS_URI_BLOCK_PRIVATE)');
    expect((await nonPublicHost(new URL('http://localhost:1/x')))?.host).toBe('localhost');
    expect(await nonPublicHost(new URL('https://8.8.8.8/x'))).toBeNull();
  });
});

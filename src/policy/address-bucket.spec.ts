import { addressBucket } from './address-bucket';

describe(addressBucket.name, () => {
  it('counts an IPv4 address as itself, an IPv4-mapped IPv6 address as the IPv4 address', () => {
    expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('::FFFF:203.0.113.7')).toBe('203.0.113.7');
  });

  it('counts every IPv6 address of one /64 together, whatever its spelling', () => {
    const bucket = addressBucket('2001:db8:1:2::1');
    expect(bucket).toBe('2001:db8:1:2::/64');
    for (const same of ['2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:DB8:1:2:abcd::9', '2001:db8:1:2:0:0:0:0', 'fe80::1%eth0'.replace('fe80::1', '2001:db8:1:2::5')]) {
      expect(addressBucket(same)).toBe(bucket);
    }
    expect(addressBucket('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('::')).toBe('0:0:0:0::/64');
    expect(addressBucket('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(addressBucket('1:2:3:4:5:6:192.0.2.1')).toBe('1:2:3:4::/64');
  });

  it('is null for anything that is not one address', () => {
    for (const bad of ['', 'localhost', '203.0.113.7, 198.51.100.1', '[2001:db8::1]', '2001:db8::/64', '203.0.113.256', '1.2.3', ':::1']) {
      expect(addressBucket(bad)).toBeNull();
    }
  });
});

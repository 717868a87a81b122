import { base32Decode, base32Encode, hotp, matchTotp, totpStep } from './totp';

describe('TOTP (RFC 6238) and base32 (RFC 4648)', () => {
  // RFC 6238 Appendix B, SHA-1 seed; the RFC prints 8 digits, a 6-digit code is their last six.
  const seed = Buffer.from('12345678901234567890', 'ascii');
  it.each([
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ])('RFC 6238 test vector at T=%ds', (seconds, code) => {
    expect(hotp(seed, totpStep(seconds * 1000), 8)).toBe(code);
    expect(hotp(seed, totpStep(seconds * 1000))).toBe(code.slice(2));
  });

  it('RFC 4226 Appendix D HOTP values', () => {
    expect([0, 1, 2, 3, 9].map((c) => hotp(seed, c))).toEqual(['755224', '287082', '359152', '969429', '520489']);
  });

  it('accepts the codes of the previous, current and next step and reports which', () => {
    const now = 1_700_000_000_000;
    const step = totpStep(now);
    expect(matchTotp(seed, hotp(seed, step), now)).toBe(step);
    expect(matchTotp(seed, hotp(seed, step - 1), now)).toBe(step - 1);
    expect(matchTotp(seed, hotp(seed, step + 1), now)).toBe(step + 1);
    expect(matchTotp(seed, hotp(seed, step - 2), now)).toBeNull();
    expect(matchTotp(seed, hotp(seed, step + 2), now)).toBeNull();
  });

  it('refuses anything but six digits', () => {
    const now = 1_700_000_000_000;
    const code = hotp(seed, totpStep(now));
    for (const bad of ['', '12345', '1234567', ` ${code}`, `${code}\n`, '12345a', '１２３４５６']) expect(matchTotp(seed, bad, now)).toBeNull();
  });

  it.each([
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ])('base32 of %j is %s (RFC 4648 §10, unpadded)', (text, encoded) => {
    expect(base32Encode(Buffer.from(text))).toBe(encoded);
    expect(base32Decode(encoded).toString()).toBe(text);
    expect(base32Decode(`${encoded.toLowerCase()}===`).toString()).toBe(text);
  });

  it('base32 round-trips a 160-bit secret in 32 characters and refuses foreign characters', () => {
    const secret = Buffer.from('000102030405060708090a0b0c0d0e0f10111213', 'hex');
    const encoded = base32Encode(secret);
    expect(encoded).toMatch(/^[A-Z2-7]{32}$/);
    expect(base32Decode(encoded).equals(secret)).toBe(true);
    expect(() => base32Decode('MZXW1')).toThrow('Invalid base32');
  });
});

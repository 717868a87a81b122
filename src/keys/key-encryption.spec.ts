import { randomBytes } from 'node:crypto';
import { decryptPrivate, deriveKey, encryptPrivate, seal, unseal } from './key-encryption';

describe('key-encryption (AES-256-GCM)', () => {
  const key = randomBytes(32);

  it('round-trips, with a fresh IV each time', () => {
    const a = seal('secret value', key, 'totp-secret:user-1');
    const b = seal('secret value', key, 'totp-secret:user-1');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(unseal(a, key, 'totp-secret:user-1')).toBe('secret value');
  });

  it('does not open under another key, another aad, a truncated tag or a changed ciphertext', () => {
    const sealed = seal('secret value', key, 'totp-secret:user-1');
    const [version, iv, tag, ciphertext] = sealed.split('.');
    expect(() => unseal(sealed, randomBytes(32), 'totp-secret:user-1')).toThrow();
    expect(() => unseal(sealed, key, 'totp-secret:user-2')).toThrow();
    expect(() => unseal(sealed, key)).toThrow();
    const shortTag = Buffer.from(tag, 'base64url').subarray(0, 4).toString('base64url');
    expect(() => unseal([version, iv, shortTag, ciphertext].join('.'), key, 'totp-secret:user-1')).toThrow();
    const flipped = Buffer.from(ciphertext, 'base64url');
    flipped[0] ^= 1;
    expect(() => unseal([version, iv, tag, flipped.toString('base64url')].join('.'), key, 'totp-secret:user-1')).toThrow();
    expect(() => unseal(`${sealed}.extra`, key, 'totp-secret:user-1')).toThrow('Unrecognised encrypted key format');
  });

  it('derives independent keys per purpose, and keeps the private-key format', () => {
    const secret = 'k'.repeat(32);
    expect(deriveKey(secret, 'totp-secret').equals(deriveKey(secret, 'private-key-encryption'))).toBe(false);
    const sealed = encryptPrivate('-----BEGIN PRIVATE KEY-----', secret);
    expect(decryptPrivate(sealed, secret)).toBe('-----BEGIN PRIVATE KEY-----');
    expect(unseal(sealed, deriveKey(secret, 'private-key-encryption'))).toBe('-----BEGIN PRIVATE KEY-----');
  });
});

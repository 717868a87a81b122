import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A 256-bit random value, base64url: the form of every opaque token, code and generated secret. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function sha256Base64Url(value: string): string {
  return createHash('sha256').update(value, 'ascii').digest('base64url');
}

/** Digest of a high-entropy secret: HMAC-SHA-256 keyed by the pepper when there is one, else SHA-256. */
export function secretDigest(secret: string, pepper?: string): string {
  return pepper ? createHmac('sha256', pepper).update(secret, 'utf8').digest('hex') : sha256Hex(secret);
}

/** Constant-time comparison of two hex digests of equal length; unequal lengths compare false. */
export function digestsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

import { timingSafeEqual } from 'node:crypto';
import { sha256Base64Url } from '../common/crypto';

export const PKCE_METHODS = ['S256', 'plain'] as const;
export type PkceMethod = (typeof PKCE_METHODS)[number];

/** RFC 7636 §4.1/§4.2: 43-128 characters of [A-Z a-z 0-9 - . _ ~], for verifier and challenge alike. */
export const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 7636 §4.6: whether the code_verifier matches the stored challenge, compared in constant time. */
export function pkceVerifies(method: string, challenge: string, verifier: string): boolean {
  if (!PKCE_VALUE.test(verifier)) return false;
  const computed = method === 'S256' ? sha256Base64Url(verifier) : method === 'plain' ? verifier : null;
  if (computed === null) return false;
  const a = Buffer.from(computed, 'ascii');
  const b = Buffer.from(challenge, 'ascii');
  return a.length === b.length && timingSafeEqual(a, b);
}

import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { JSONWebKeySet, JWK } from 'jose';

export const MAX_CLIENT_KEYS = 50;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const CURVES: Record<string, string[]> = { EC: ['P-256', 'P-384', 'P-521'], OKP: ['Ed25519'] };

/**
 * Why a JWK is not a usable public signing key of a client, or null when it is: RSA (2048 bits or
 * more), EC P-256/384/521 or OKP Ed25519, no private or symmetric members, and when it carries x5c,
 * the first certificate holds the same key (RFC 7517 §4.7).
 */
export function publicJwkProblem(jwk: unknown): string | null {
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk)) return 'is not a JSON object';
  const key = jwk as JWK & Record<string, unknown>;
  if (key.kty !== 'RSA' && key.kty !== 'EC' && key.kty !== 'OKP') return 'must have kty RSA, EC or OKP';
  if (PRIVATE_MEMBERS.some((member) => member in key)) return 'must be a public key (no private key members)';
  if (CURVES[key.kty] && !CURVES[key.kty].includes(key.crv as string)) return `has an unsupported crv (${CURVES[key.kty].join(', ')})`;
  if (key.kid !== undefined && typeof key.kid !== 'string') return 'kid must be a string';
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: key as never, format: 'jwk' });
  } catch {
    return 'is not a valid JWK';
  }
  if (key.kty === 'RSA' && (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return 'RSA keys must have at least 2048 bits';
  if (key.x5c !== undefined) {
    if (!Array.isArray(key.x5c) || key.x5c.length === 0 || !key.x5c.every((c) => typeof c === 'string' && /^[A-Za-z0-9+/]+=*$/.test(c))) {
      return 'x5c must be an array of base64 DER certificates';
    }
    try {
      if (!new X509Certificate(Buffer.from(key.x5c[0], 'base64')).publicKey.equals(publicKey)) return 'x5c[0] does not hold the key of the JWK';
    } catch {
      return 'x5c[0] is not an X.509 certificate';
    }
  }
  return null;
}

/** Why a value is not a JWK Set of client public keys (RFC 7517 §5), or null. */
export function jwksProblem(value: unknown): string | null {
  if (!value || typeof value !== 'object' || !Array.isArray((value as JSONWebKeySet).keys)) return 'must be a JWK Set: {"keys": [...]}';
  const { keys } = value as JSONWebKeySet;
  if (keys.length > MAX_CLIENT_KEYS) return `must have at most ${MAX_CLIENT_KEYS} keys`;
  for (const [index, key] of keys.entries()) {
    const problem = publicJwkProblem(key);
    if (problem) return `keys[${index}] ${problem}`;
  }
  return null;
}

/** The usable public keys of a JWK Set from elsewhere (a jwks_uri), others left out; null when it is not a JWK Set. */
export function publicJwks(value: unknown): JSONWebKeySet | null {
  if (!value || typeof value !== 'object' || !Array.isArray((value as JSONWebKeySet).keys)) return null;
  return { keys: (value as JSONWebKeySet).keys.filter((key) => publicJwkProblem(key) === null).slice(0, MAX_CLIENT_KEYS) };
}

import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { ISSUER, type TestApp } from './app';

/** RFC 7523 §2.2 client_assertion_type. */
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** What a client signs its assertions with: a private key (private_key_jwt) or its secret (client_secret_jwt). */
export interface Signer {
  alg: string;
  kid?: string;
  key: CryptoKey | Uint8Array;
}

export interface TestKeyPair {
  signer: Signer;
  /** The public key as the client registers it (jwks). */
  jwk: JWK;
  publicKey: CryptoKey;
}

/** A new key pair for `alg`; its public JWK carries `kid`. */
export async function keyPair(alg: string, kid: string): Promise<TestKeyPair> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { signer: { alg, kid, key: privateKey }, jwk: { ...(await exportJWK(publicKey)), kid }, publicKey };
}

/** client_secret_jwt: an HMAC keyed with the client secret. */
export const hmac = (secret: string, alg = 'HS256'): Signer => ({ alg, key: new TextEncoder().encode(secret) });

/**
 * Claims of a client assertion valid right now on `app`'s clock, for the token endpoint; `overrides`
 * replace them (e.g. `aud`), undefined values remove them.
 */
export function assertionClaims(app: TestApp, clientId: string, overrides: Record<string, unknown> = {}): JWTPayload {
  const now = app.clock.nowSeconds();
  const base: Record<string, unknown> = { iss: clientId, sub: clientId, aud: `${ISSUER}/oauth2/token`, jti: randomUUID(), iat: now, exp: now + 60, ...overrides };
  for (const [name, value] of Object.entries(base)) if (value === undefined) delete base[name];
  return base as JWTPayload;
}

/** A JWS of `payload` with the signer's alg (and kid, when it has one) in the header. */
export function signJwt(payload: JWTPayload, signer: Signer): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: signer.alg, ...(signer.kid ? { kid: signer.kid } : {}) }).sign(signer.key);
}

/** A fresh client assertion (new jti) for `clientId`; see {@link assertionClaims} for `overrides`. */
export function clientAssertion(app: TestApp, clientId: string, signer: Signer, overrides: Record<string, unknown> = {}): Promise<string> {
  return signJwt(assertionClaims(app, clientId, overrides), signer);
}

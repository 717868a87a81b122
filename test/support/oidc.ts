import { createHash } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { Response } from 'supertest';
import { ISSUER, type TestApp } from './app';
import { CLIENT_CERT_HEADER, type TestCertificate } from './certificates';
import { clientAssertion, hmac, JWT_BEARER, type Signer } from './client-assertions';
import type { CreatedClient } from './fixtures';

export const sha256Hex = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** OIDC Core §3.1.3.6 at_hash: left half of the token's hash (SHA-512 for EdDSA/Ed25519, else SHA-256). */
export function atHashOf(accessToken: string, alg: string): string {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/**
 * A registered client with what a test presents to authenticate as it: the client_secret from
 * registration, or for the methods without one the signing key (private_key_jwt) or the
 * certificate (tls_client_auth, self_signed_tls_client_auth) the test registered it with.
 * `signer` also replaces the HS256 MAC of client_secret_jwt (another alg, or a wrong secret).
 */
export type AuthenticatingClient = CreatedClient & { signer?: Signer; certificate?: TestCertificate };

/**
 * POSTs a form to `path` as `client`, authenticating with the client's registered method: HTTP Basic
 * (client_secret_basic, the default), client_id and client_secret in the body (client_secret_post),
 * a fresh client assertion whose aud is the URL of `path` (client_secret_jwt, private_key_jwt),
 * client_id with the certificate in the trusted proxy's header (tls_client_auth,
 * self_signed_tls_client_auth; the app must run with TLS_PROXY_ENV), or client_id alone (none).
 */
export async function clientPost(t: TestApp, client: AuthenticatingClient, path: string, form: Record<string, string>): Promise<Response> {
  const req = t.http.post(path).type('form');
  const method = client.token_endpoint_auth_method ?? 'client_secret_basic';
  switch (method) {
    case 'client_secret_basic':
      return req.auth(encodeURIComponent(client.client_id), encodeURIComponent(client.client_secret!)).send(form);
    case 'client_secret_post':
      return req.send({ client_id: client.client_id, client_secret: client.client_secret!, ...form });
    case 'client_secret_jwt':
    case 'private_key_jwt': {
      const signer = client.signer ?? (method === 'client_secret_jwt' ? hmac(client.client_secret!) : undefined);
      if (!signer) throw new Error(`clientPost: a private_key_jwt client needs its signer`);
      const assertion = await clientAssertion(t, client.client_id, signer, { aud: `${ISSUER}${path}` });
      return req.send({ client_assertion_type: JWT_BEARER, client_assertion: assertion, ...form });
    }
    case 'tls_client_auth':
    case 'self_signed_tls_client_auth':
      if (!client.certificate) throw new Error(`clientPost: a ${method} client needs its certificate`);
      return req.set(CLIENT_CERT_HEADER, client.certificate.escaped).send({ client_id: client.client_id, ...form });
    case 'none':
      return req.send({ client_id: client.client_id, ...form });
    default:
      throw new Error(`clientPost: unsupported method ${String(method)}`);
  }
}

/** The published JWKS, as a relying party would fetch it now. */
export async function fetchJwks(t: TestApp): Promise<JSONWebKeySet> {
  const res = await t.http.get('/oauth2/jwks');
  if (res.status !== 200) throw new Error(`jwks: ${res.status}`);
  return res.body as JSONWebKeySet;
}

/**
 * Verifies a JWT of ours against the JWKS published now, at the app's (movable) clock: the
 * signature, `iss` and, when given, `aud` and `typ`. Returns the header and the payload.
 */
export async function verifyAgainstJwks(
  t: TestApp,
  token: string,
  options: { audience?: string; typ?: string } = {},
): Promise<{ header: ProtectedHeaderParameters; payload: JWTPayload }> {
  const jwks = createLocalJWKSet(await fetchJwks(t));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: ISSUER,
    audience: options.audience,
    typ: options.typ,
    currentDate: t.clock.now(),
  });
  return { header: protectedHeader, payload };
}

export const kidOf = (token: string) => decodeProtectedHeader(token).kid;

/** RFC 7662 introspection by `client`; asserts the 200 and returns the body. */
export async function introspect(t: TestApp, client: AuthenticatingClient, token: string, hint?: string): Promise<Record<string, unknown>> {
  const res = await clientPost(t, client, '/oauth2/introspect', { token, ...(hint ? { token_type_hint: hint } : {}) });
  if (res.status !== 200) throw new Error(`introspect: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Record<string, unknown>;
}

/** GET UserInfo with a bearer token. */
export function userinfo(t: TestApp, accessToken: string) {
  return t.http.get('/oauth2/userinfo').set('Authorization', `Bearer ${accessToken}`);
}

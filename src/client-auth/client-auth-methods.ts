import type { AppConfig } from '../config/app-config';
import { TOKEN_ENDPOINT_AUTH_METHODS, type TokenEndpointAuthMethod } from '../clients/client.entity';
import { CLIENT_SECRET_JWT_ALGS, PRIVATE_KEY_JWT_ALGS } from './client-assertion.verifier';

const CERTIFICATE_METHODS: readonly TokenEndpointAuthMethod[] = ['tls_client_auth', 'self_signed_tls_client_auth'];

/**
 * The client authentication methods that work with this configuration, for discovery: the mutual-TLS
 * ones only when a trusted proxy can pass certificates on (TRUSTED_CLIENT_CERT_HEADER and TRUSTED_PROXIES).
 */
export function supportedClientAuthMethods(config: AppConfig): TokenEndpointAuthMethod[] {
  const certificates = !!config.trustedClientCertHeader && config.trustedProxies.length > 0;
  return TOKEN_ENDPOINT_AUTH_METHODS.filter((method) => certificates || !CERTIFICATE_METHODS.includes(method));
}

/** The `alg` values accepted on client assertions (client_secret_jwt, then private_key_jwt). */
export const CLIENT_ASSERTION_SIGNING_ALGS = [...CLIENT_SECRET_JWT_ALGS, ...PRIVATE_KEY_JWT_ALGS];

/** OpenAPI: how a client authenticates at the token, introspection and revocation endpoints. */
export const CLIENT_AUTH_DESCRIPTION =
  'Client authentication, exactly one per request: HTTP Basic (client_secret_basic); client_id + client_secret in the body ' +
  '(client_secret_post); client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer + client_assertion, a JWT ' +
  'with iss = sub = client_id, aud = the issuer or this endpoint\'s URL, exp at most 5 minutes ahead and a single-use jti, ' +
  'HS256/384/512 with the client secret (client_secret_jwt) or signed with a key of the client\'s jwks / jwks_uri (private_key_jwt, RFC 7523); ' +
  'client_id alone with a client certificate passed on by a trusted TLS proxy (tls_client_auth, self_signed_tls_client_auth, RFC 8705); ' +
  'or client_id alone for public clients (none).';

/** OpenAPI: the form parameters of client authentication. */
export const CLIENT_AUTH_BODY_PROPERTIES = {
  client_id: { type: 'string' },
  client_secret: { type: 'string', description: 'client_secret_post' },
  client_assertion_type: { type: 'string', enum: ['urn:ietf:params:oauth:client-assertion-type:jwt-bearer'], description: 'client_secret_jwt, private_key_jwt' },
  client_assertion: { type: 'string', description: 'client_secret_jwt, private_key_jwt: the signed JWT' },
};

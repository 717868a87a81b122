import { ApiMethodNotAllowedResponse } from '@nestjs/swagger';

type Method = 'GET' | 'POST';

/** One protocol endpoint: the paths it answers on (the first is the one discovery advertises) and its methods. */
export interface OAuthEndpoint {
  /** As error descriptions name it: "The token endpoint accepts only POST". */
  readonly name: string;
  readonly paths: string[];
  readonly methods: readonly Method[];
  /**
   * Clients read its errors as RFC 6749 §5.2 JSON: an error the framework raises before the handler
   * runs (a body too large, unreadable) is rendered in that shape too.
   */
  readonly jsonErrors: boolean;
}

const endpoint = (name: string, paths: string[], methods: Method[], jsonErrors = false): OAuthEndpoint => ({ name, paths, methods, jsonErrors });

/**
 * Every OAuth 2.0 / OpenID Connect endpoint (SPEC §2), the one place that knows their paths:
 * controllers are routed by it, discovery builds its URLs from it, and the exception filter answers
 * any other method on these paths with 405 and an OAuth body.
 */
export const OAUTH_ENDPOINTS = {
  token: endpoint('token', ['oauth2/token', 'oidc/token', 'api/v1/oauth2/token'], ['POST'], true),
  authorization: endpoint('authorization', ['oauth2/authorize', 'oidc/auth'], ['GET', 'POST']),
  userinfo: endpoint('UserInfo', ['oauth2/userinfo', 'oidc/me'], ['GET', 'POST'], true),
  introspection: endpoint('introspection', ['oauth2/introspect'], ['POST'], true),
  revocation: endpoint('revocation', ['oauth2/revoke'], ['POST'], true),
  jwks: endpoint('JWKS', ['oauth2/jwks', '.well-known/jwks.json'], ['GET']),
  discovery: endpoint('discovery', ['.well-known/openid-configuration', '.well-known/oauth-authorization-server'], ['GET']),
  passwordEncryptionKeys: endpoint('password encryption keys', ['oauth2/password-encryption-keys'], ['GET']),
  vendorSystemKeys: endpoint('password encryption keys', ['api/v3/system'], ['GET']),
} as const;

const BY_PATH = new Map<string, OAuthEndpoint>(Object.values(OAUTH_ENDPOINTS).flatMap((e) => e.paths.map((path) => [`/${path}`, e] as const)));

/** The endpoint a request URL addresses (query and a trailing slash ignored, as the router ignores them). */
export function oauthEndpointAt(url: string): OAuthEndpoint | undefined {
  const path = url.split('?')[0];
  return BY_PATH.get(path.length > 1 ? path.replace(/\/$/, '') : path);
}

/** The methods the endpoint answers, for the Allow header: the router answers HEAD wherever it answers GET. */
export function allowedMethods(e: OAuthEndpoint): string[] {
  return e.methods.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
}

/** The absolute URL of an endpoint under the issuer, as discovery advertises it. */
export function endpointUrl(issuer: string, e: OAuthEndpoint): string {
  return `${issuer}/${e.paths[0]}`;
}

/** OpenAPI: the 405 that the exception filter answers for every other method on the endpoint's paths. */
export const ApiOtherMethodsRefused = (e: OAuthEndpoint) =>
  ApiMethodNotAllowedResponse({ description: `Any method but ${allowedMethods(e).join(', ')}: invalid_request, with an Allow header` });

import { ApiMethodNotAllowedResponse } from '@nestjs/swagger';
import { InvalidRequest } from './errors';

type Method = 'GET' | 'POST';

/**
 * Who may read the endpoint's responses from a browser (SPEC §4 CORS): any origin (public metadata),
 * or only the origins of the client the response is for (and, for preflights, which name no
 * client, the origins some client registered).
 */
export type CorsPolicy = 'any-origin' | 'client-origins';

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
  /** Absent: no CORS headers, and OPTIONS is a wrong method like any other. */
  readonly cors?: CorsPolicy;
}

const endpoint = (name: string, paths: string[], methods: Method[], options: { jsonErrors?: boolean; cors?: CorsPolicy } = {}): OAuthEndpoint => ({
  name,
  paths,
  methods,
  jsonErrors: options.jsonErrors ?? false,
  ...(options.cors ? { cors: options.cors } : {}),
});

/**
 * Every OAuth 2.0 / OpenID Connect endpoint (SPEC §2), the one place that knows their paths:
 * controllers are routed by it, discovery builds its URLs from it, and the exception filter answers
 * any other method on these paths with 405 and an OAuth body.
 */
export const OAUTH_ENDPOINTS = {
  token: endpoint('token', ['oauth2/token', 'oidc/token', 'api/v1/oauth2/token'], ['POST'], { jsonErrors: true, cors: 'client-origins' }),
  authorization: endpoint('authorization', ['oauth2/authorize', 'oidc/auth'], ['GET', 'POST']),
  userinfo: endpoint('UserInfo', ['oauth2/userinfo', 'oidc/me'], ['GET', 'POST'], { jsonErrors: true, cors: 'client-origins' }),
  // Resource servers are backends: introspection is not for browsers (and refuses public clients).
  introspection: endpoint('introspection', ['oauth2/introspect'], ['POST'], { jsonErrors: true }),
  revocation: endpoint('revocation', ['oauth2/revoke'], ['POST'], { jsonErrors: true, cors: 'client-origins' }),
  // RP-Initiated Logout 1.0: a browser navigation, answered with pages and redirects.
  endSession: endpoint('end session', ['oauth2/logout', 'oidc/session/end'], ['GET', 'POST']),
  jwks: endpoint('JWKS', ['oauth2/jwks', '.well-known/jwks.json'], ['GET'], { cors: 'any-origin' }),
  discovery: endpoint('discovery', ['.well-known/openid-configuration', '.well-known/oauth-authorization-server'], ['GET'], { cors: 'any-origin' }),
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

/** 405 for a method the endpoint does not answer, with the Allow header (SPEC §3.1: still an OAuth body). */
export function methodNotAllowed(e: OAuthEndpoint): InvalidRequest {
  return new InvalidRequest(`The ${e.name} endpoint accepts only ${e.methods.join(' and ')}`, 405).withHeader('Allow', allowedMethods(e).join(', '));
}

/** The endpoints browsers may call from other origins, and the paths of all of them (for the preflight route). */
export const CORS_ENDPOINTS: readonly OAuthEndpoint[] = Object.values(OAUTH_ENDPOINTS).filter((e) => e.cors !== undefined);

/** The absolute URL of an endpoint under the issuer, as discovery advertises it. */
export function endpointUrl(issuer: string, e: OAuthEndpoint): string {
  return `${issuer}/${e.paths[0]}`;
}

/** OpenAPI: the 405 that the exception filter answers for every other method on the endpoint's paths. */
export const ApiOtherMethodsRefused = (e: OAuthEndpoint) =>
  ApiMethodNotAllowedResponse({ description: `Any method but ${allowedMethods(e).join(', ')}: invalid_request, with an Allow header` });

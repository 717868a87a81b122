import { Injectable } from '@nestjs/common';
import type { Client } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { isAllowedRedirectUri } from '../clients/redirect-uri';
import { resolveScope } from '../oauth/scopes';
import { PKCE_METHODS, PKCE_VALUE, type PkceMethod } from '../oauth/pkce';
import { OAuthError } from '../oauth/errors';

/**
 * The authorization request parameters the login form carries from the page to its POST, signed
 * together with the CSRF token so that none of them can be changed in between.
 */
export const CARRIED_PARAMS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'response_mode',
] as const;
export type CarriedParams = Partial<Record<(typeof CARRIED_PARAMS)[number], string>>;

/** Request parameters after RFC 6749 §3.1: empty means absent, and repeated names are set apart. */
export interface RequestParams {
  values: Readonly<Record<string, string>>;
  repeated: ReadonlySet<string>;
}

/** Reads a parsed query string or form body; anything that is not a string is treated as absent. */
export function collectParams(source: unknown): RequestParams {
  const values: Record<string, string> = Object.create(null);
  const repeated = new Set<string>();
  if (source && typeof source === 'object') {
    for (const [name, value] of Object.entries(source as Record<string, unknown>)) {
      if (Array.isArray(value)) repeated.add(name);
      else if (typeof value === 'string' && value !== '') values[name] = value;
    }
  }
  return { values, repeated };
}

/** How the response reaches the client (OAuth 2.0 Multiple Response Types §2.1, Form Post Response Mode). */
export const RESPONSE_MODES = ['query', 'form_post'] as const;
export type ResponseMode = (typeof RESPONSE_MODES)[number];

/** A validated authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636 §4.3). */
export interface AuthorizationRequest {
  client: Client;
  /** The redirect_uri sent, or the client's only registered one when none was sent. */
  redirectUri: string;
  responseMode: ResponseMode;
  /** OIDC Core §3.1.2.1 max_age: seconds since the last authentication beyond which the user must sign in again. */
  maxAge?: number;
  scope: string[];
  state?: string;
  nonce?: string;
  codeChallenge?: string;
  codeChallengeMethod?: PkceMethod;
  prompt: string[];
  loginHint?: string;
  carried: CarriedParams;
}

/** An error that must not be sent to the redirect_uri: the client or redirect_uri cannot be trusted. */
export class AuthorizationPageError extends Error {
  constructor(
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

/** An error for the client, sent to its validated redirect_uri (RFC 6749 §4.1.2.1). */
export class AuthorizationRedirectError extends Error {
  constructor(
    readonly redirectUri: string,
    readonly error: string,
    readonly description: string,
    readonly state?: string,
    readonly responseMode: ResponseMode = 'query',
  ) {
    super(description);
  }
}

const NONCE_MAX = 512;

/** Validates authorization requests: first the client and redirect_uri (page errors), then the rest (redirect errors). */
@Injectable()
export class AuthorizationRequestValidator {
  constructor(private readonly clients: ClientsService) {}

  async validate({ values, repeated }: RequestParams): Promise<AuthorizationRequest> {
    const { client, redirectUri } = await this.clientAndRedirect(values, repeated);
    const state = repeated.has('state') ? undefined : values.state;
    // Once the redirect_uri is trusted, errors go back in the response mode asked for, when it is one we have.
    const responseMode: ResponseMode = !repeated.has('response_mode') && values.response_mode === 'form_post' ? 'form_post' : 'query';
    const fail = (error: string, description: string) => new AuthorizationRedirectError(redirectUri, error, description, state, responseMode);

    for (const name of [...CARRIED_PARAMS, 'prompt', 'max_age', 'request', 'request_uri']) {
      if (repeated.has(name)) throw fail('invalid_request', `Parameter "${name}" must not be repeated`);
    }
    // OIDC Core §6: request objects are not supported (and say so in discovery).
    if (values.request !== undefined) throw fail('request_not_supported', 'The request parameter is not supported');
    if (values.request_uri !== undefined) throw fail('request_uri_not_supported', 'The request_uri parameter is not supported');
    if (values.response_mode !== undefined && !(RESPONSE_MODES as readonly string[]).includes(values.response_mode)) {
      throw fail('invalid_request', 'Unsupported response_mode (use "query" or "form_post")');
    }
    if (values.response_type === undefined) throw fail('invalid_request', 'response_type is required');
    if (values.response_type !== 'code') throw fail('unsupported_response_type', 'Only response_type=code is supported');
    if (!client.grantTypes.includes('authorization_code')) {
      throw fail('unauthorized_client', 'The client is not allowed to use the authorization_code grant');
    }

    let scope: string[];
    try {
      scope = resolveScope(client, values.scope);
    } catch (error) {
      if (error instanceof OAuthError) throw fail(error.error, error.description);
      throw error;
    }

    const { codeChallenge, codeChallengeMethod } = this.pkce(client, values, fail);
    if (values.nonce !== undefined && values.nonce.length > NONCE_MAX) {
      throw fail('invalid_request', `nonce must be at most ${NONCE_MAX} characters`);
    }
    const prompt = (values.prompt ?? '').split(' ').filter(Boolean);
    if (prompt.includes('none') && prompt.length > 1) throw fail('invalid_request', 'prompt=none cannot be combined with other values');
    let maxAge: number | undefined;
    if (values.max_age !== undefined) {
      if (!/^\d{1,9}$/.test(values.max_age)) throw fail('invalid_request', 'max_age must be a whole number of seconds');
      maxAge = Number(values.max_age);
    }

    const carried: CarriedParams = {};
    for (const name of CARRIED_PARAMS) if (values[name] !== undefined) carried[name] = values[name];
    return {
      client,
      redirectUri,
      responseMode,
      maxAge,
      scope,
      state,
      nonce: values.nonce,
      codeChallenge,
      codeChallengeMethod,
      prompt,
      loginHint: values.login_hint,
      carried,
    };
  }

  /**
   * RFC 6749 §3.1.2 / §4.1.2.1: until the client and an exact match of one of its registered
   * redirect URIs are known, nothing may be sent to the redirect_uri. With a single registered URI
   * and none in the request, that URI is used (RFC 6749 §3.1.2.3, as Keycloak does).
   */
  private async clientAndRedirect(values: Record<string, string>, repeated: ReadonlySet<string>): Promise<{ client: Client; redirectUri: string }> {
    if (repeated.has('client_id')) throw new AuthorizationPageError('invalid_request', 'The client_id parameter must not be repeated.');
    if (values.client_id === undefined) throw new AuthorizationPageError('invalid_request', 'The request has no client_id.');
    const client = await this.clients.findById(values.client_id);
    if (!client) throw new AuthorizationPageError('invalid_client', 'The application that sent you here is not registered (unknown client_id).');
    if (client.disabled) throw new AuthorizationPageError('invalid_client', 'The application that sent you here is disabled.');
    if (repeated.has('redirect_uri')) throw new AuthorizationPageError('invalid_request', 'The redirect_uri parameter must not be repeated.');
    const requested = values.redirect_uri;
    let redirectUri: string;
    if (requested === undefined) {
      if (client.redirectUris.length !== 1) {
        throw new AuthorizationPageError('invalid_request', 'The request has no redirect_uri, and the application has more than one registered.');
      }
      redirectUri = client.redirectUris[0];
    } else if (client.redirectUris.includes(requested)) {
      // Exact string comparison: no normalisation, no prefix or wildcard matching.
      redirectUri = requested;
    } else {
      throw new AuthorizationPageError('invalid_request', 'The redirect_uri is not registered for this application.');
    }
    // A URI registered before the admin API applied its rules (a javascript: URI, CR/LF, spaces...)
    // is never redirected to: it could run script or break the Location header.
    if (!isAllowedRedirectUri(redirectUri)) {
      throw new AuthorizationPageError('invalid_request', 'The redirect_uri registered for this application is not allowed.');
    }
    return { client, redirectUri };
  }

  /** RFC 7636 §4.3 and SPEC §3.4: S256, plain only when the client allows it, required for public and require_pkce clients. */
  private pkce(
    client: Client,
    values: Record<string, string>,
    fail: (error: string, description: string) => AuthorizationRedirectError,
  ): { codeChallenge?: string; codeChallengeMethod?: PkceMethod } {
    const challenge = values.code_challenge;
    const method = values.code_challenge_method;
    if (challenge === undefined) {
      if (method !== undefined) throw fail('invalid_request', 'code_challenge_method was sent without a code_challenge');
      if (client.isPublic) throw fail('invalid_request', 'PKCE is required for public clients: send code_challenge and code_challenge_method=S256');
      if (client.requirePkce) throw fail('invalid_request', 'PKCE is required for this client: send code_challenge and code_challenge_method=S256');
      return {};
    }
    // RFC 7636 §4.3: an absent method means plain.
    const effective = method ?? 'plain';
    if (!(PKCE_METHODS as readonly string[]).includes(effective)) {
      throw fail('invalid_request', 'Unsupported code_challenge_method (use S256)');
    }
    if (effective === 'plain' && !client.allowPkcePlain) {
      throw fail('invalid_request', 'code_challenge_method must be S256 (plain is not allowed for this client)');
    }
    if (!PKCE_VALUE.test(challenge)) {
      throw fail('invalid_request', 'code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, "-", ".", "_" and "~"');
    }
    return { codeChallenge: challenge, codeChallengeMethod: effective as PkceMethod };
  }
}

/** Adds response parameters to a redirect URI, keeping the query it already has (RFC 6749 §3.1.2). */
export function withQuery(uri: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.append(name, value);
  const hash = uri.indexOf('#');
  const base = hash === -1 ? uri : uri.slice(0, hash);
  const separator = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${separator}${query.toString()}`;
}

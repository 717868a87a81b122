/**
 * A protocol error: the RFC 6749 §5.2 code, the HTTP status and the description. The exception
 * filter renders it as {"error", "error_description", ...extra}. Grant code throws these, never
 * Nest's HttpException, whose body is not the RFC's.
 */
export class OAuthError extends Error {
  readonly headers: Record<string, string> = {};

  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
    readonly extra: Record<string, string> = {},
  ) {
    super(description);
  }

  withHeader(name: string, value: string): this {
    this.headers[name] = value;
    return this;
  }

  toJSON(): Record<string, string> {
    return { error: this.error, error_description: this.description, ...this.extra };
  }
}

export class InvalidRequest extends OAuthError {
  constructor(description: string, status = 400) {
    super('invalid_request', description, status);
  }
}

export class InvalidClient extends OAuthError {
  constructor(description = 'Bad client credentials') {
    super('invalid_client', description, 401);
  }
}

/** `errorCode` is the machine-readable reason some vendors add (USER_LOCKED, PASSWORD_EXPIRED, ...). */
export class InvalidGrant extends OAuthError {
  constructor(description: string, errorCode?: string) {
    super('invalid_grant', description, 400, errorCode ? { error_code: errorCode } : {});
  }
}

export class UnauthorizedClient extends OAuthError {
  constructor(description = 'The client is not allowed to use this grant type') {
    super('unauthorized_client', description);
  }
}

export class UnsupportedGrantType extends OAuthError {
  constructor(description = 'Unsupported grant_type') {
    super('unsupported_grant_type', description);
  }
}

export class InvalidScope extends OAuthError {
  constructor(description: string) {
    super('invalid_scope', description);
  }
}

/** The realm of every Gatehouse authentication challenge (Basic and Bearer). */
export const REALM = 'gatehouse';

/**
 * RFC 6750 §3.1: a request to a protected resource that carries no bearer token at all. The
 * challenge then names the realm only: "the resource server SHOULD NOT include an error code or
 * other error information" in it. The JSON body keeps the OAuth shape of every other error.
 */
export class MissingToken extends OAuthError {
  constructor(description = 'A bearer access token is required') {
    super('invalid_token', description, 401);
    this.withHeader('WWW-Authenticate', `Bearer realm="${REALM}"`);
  }
}

/** RFC 6750 §3.1: a bearer token that is malformed, expired or revoked. */
export class InvalidToken extends OAuthError {
  constructor(description = 'The access token is invalid') {
    super('invalid_token', description, 401);
    this.withHeader('WWW-Authenticate', `Bearer error="invalid_token", error_description="${description}"`);
  }
}

/** RFC 6750 §3.1: the token is valid but lacks the scope the resource needs. */
export class InsufficientScope extends OAuthError {
  constructor(scope: string) {
    super('insufficient_scope', `The access token lacks the "${scope}" scope`, 403);
    this.withHeader('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${scope}"`);
  }
}

/** RFC 6585 §4: too many attempts from one client address (per-IP login throttling, SPEC §3.3). */
export class TooManyRequests extends OAuthError {
  constructor(description: string, retryAfterSeconds: number) {
    super('too_many_requests', description, 429);
    this.withHeader('Retry-After', String(Math.max(1, retryAfterSeconds)));
  }
}

/** Seconds a client is asked to wait (Retry-After) before it tries again after a 503. */
export const RETRY_AFTER_SECONDS = 5;

export class TemporarilyUnavailable extends OAuthError {
  constructor(description = 'The service is temporarily unavailable', retryAfterSeconds = RETRY_AFTER_SECONDS) {
    super('temporarily_unavailable', description, 503);
    // RFC 9110 §10.2.3: when to try again (a database outage, an overload).
    this.withHeader('Retry-After', String(retryAfterSeconds));
  }
}

export class ServerError extends OAuthError {
  constructor(description = 'Internal server error') {
    super('server_error', description, 500);
  }
}

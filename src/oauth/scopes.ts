import { InvalidScope } from './errors';

/** Scopes every client may be given; anything else is a custom scope registered on the client. */
export const STANDARD_SCOPES = ['openid', 'profile', 'email', 'address', 'phone', 'offline_access', 'groups'] as const;

/** The scope that grants access to the admin API. */
export const ADMIN_SCOPE = 'admin';

/** RFC 6749 §3.3 scope-token: printable ASCII except space, double quote and backslash. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Splits a space-delimited scope string, dropping duplicates and keeping the order. */
export function parseScope(scope: string | null | undefined): string[] {
  return [...new Set((scope ?? '').split(' ').filter(Boolean))];
}

export function formatScope(scopes: Iterable<string>): string {
  return [...scopes].join(' ');
}

/** What scope resolution needs of a client: its default_scope and the scopes registered on it. */
export interface ScopedClient {
  defaultScope: string;
  allowedScopes(): ReadonlySet<string>;
}

/**
 * The scope a request is granted: the requested scope, or the client's default_scope when absent.
 * Every scope must be registered on the client (RFC 6749 §3.3). `drop` lists scopes removed
 * silently first (client_credentials drops openid and offline_access).
 */
export function resolveScope(client: ScopedClient, requested: string | undefined, drop: readonly string[] = []): string[] {
  if (requested !== undefined && !requested.split(' ').every((s) => s === '' || SCOPE_TOKEN.test(s))) {
    throw new InvalidScope('The scope parameter is malformed');
  }
  const scopes = parseScope(requested ?? client.defaultScope).filter((s) => !drop.includes(s));
  const allowed = client.allowedScopes();
  const refused = scopes.filter((s) => !allowed.has(s));
  if (refused.length) throw new InvalidScope(`Scope not allowed for this client: ${refused.join(' ')}`);
  return scopes;
}

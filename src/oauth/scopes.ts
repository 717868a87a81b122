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

import type { Client } from '../clients/client.entity';
import { InvalidScope } from '../oauth/errors';
import { parseScope, SCOPE_TOKEN } from '../oauth/scopes';

/**
 * The scope a request is granted: the requested scope, or the client's default_scope when absent.
 * Every scope must be registered on the client (RFC 6749 §3.3). `drop` lists scopes removed
 * silently first (client_credentials drops openid and offline_access).
 */
export function resolveScope(client: Client, requested: string | undefined, drop: readonly string[] = []): string[] {
  if (requested !== undefined && !requested.split(' ').every((s) => s === '' || SCOPE_TOKEN.test(s))) {
    throw new InvalidScope('The scope parameter is malformed');
  }
  const scopes = parseScope(requested ?? client.defaultScope).filter((s) => !drop.includes(s));
  const allowed = client.allowedScopes();
  const refused = scopes.filter((s) => !allowed.has(s));
  if (refused.length) throw new InvalidScope(`Scope not allowed for this client: ${refused.join(' ')}`);
  return scopes;
}

import { Client } from '../../src/clients/client.entity';
import { LoginTokenIssuer } from '../../src/grants/login-token.issuer';
import { resolveScope } from '../../src/grants/scope';
import type { TokenResponse } from '../../src/tokens/tokens.service';
import { User } from '../../src/users/user.entity';
import type { TestApp } from './app';
import type { CreatedClient, CreatedUser } from './fixtures';

/**
 * A successful user login at `client`, returning its token response (a new token family), as the
 * password grant will. `form` holds the token request parameters that a login may carry: scope,
 * refresh_expiry, max_exchange_period, token_format.
 *
 * Until the password grant is merged this calls the LoginTokenIssuer in-process, test-side only:
 * nothing is exposed over HTTP. Once it is, replace the body with
 * `tokenRequest(t, { grant_type: 'password', username, password: user.password, ...form }, basic)`.
 */
export async function login(t: TestApp, client: CreatedClient, user: CreatedUser, form: Record<string, string> = {}): Promise<TokenResponse> {
  const clientRow = await t.db.getRepository(Client).findOneByOrFail({ clientId: client.client_id });
  const userRow = await t.db.getRepository(User).findOneByOrFail({ id: user.id });
  return t.app.get(LoginTokenIssuer).issue({
    client: clientRow,
    user: userRow,
    grantType: 'password',
    scope: resolveScope(clientRow, form.scope),
    authTime: t.clock.now(),
    amr: ['pwd'],
    params: form,
  });
}

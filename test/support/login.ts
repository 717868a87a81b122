import type { Response } from 'supertest';
import type { TokenResponse } from '../../src/grants/token-response';
import type { TestApp } from './app';
import type { CreatedClient, CreatedUser } from './fixtures';
import { clientPost, type AuthenticatingClient } from './oidc';

/** The identifier a user logs in with: the username, else the email or phone number it was created with. */
export function loginName(user: CreatedUser): string {
  const name = user.username ?? user.email ?? user.phone_number;
  if (typeof name !== 'string') throw new Error(`User ${user.id} has no identifier`);
  return name;
}

/** POSTs `form` to the token endpoint as `client`, with the client's registered authentication method. */
export function clientTokenRequest(t: TestApp, client: AuthenticatingClient, form: Record<string, string>): Promise<Response> {
  return clientPost(t, client, '/oauth2/token', form);
}

/** The raw password-grant response for `user` at `client`; `form` adds or overrides request parameters. */
export function passwordGrant(t: TestApp, client: CreatedClient, user: CreatedUser, form: Record<string, string> = {}): Promise<Response> {
  return clientTokenRequest(t, client, { grant_type: 'password', username: loginName(user), password: user.password, ...form });
}

/**
 * A successful user login at `client` through the password grant over HTTP, returning its token
 * response (a new token family). `form` holds the token request parameters a login may carry:
 * scope, refresh_expiry, max_exchange_period, token_format. The client must be registered with the
 * `password` grant. Throws when the login does not succeed.
 */
export async function login(t: TestApp, client: CreatedClient, user: CreatedUser, form: Record<string, string> = {}): Promise<TokenResponse> {
  const res = await passwordGrant(t, client, user, form);
  if (res.status !== 200) throw new Error(`login: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as TokenResponse;
}

import type { Response } from 'supertest';
import type { TokenResponse } from '../../src/tokens/tokens.service';
import type { TestApp } from './app';
import type { CreatedClient, CreatedUser } from './fixtures';

/** The identifier a user logs in with: the username, else the email or phone number it was created with. */
export function loginName(user: CreatedUser): string {
  const name = user.username ?? user.email ?? user.phone_number;
  if (typeof name !== 'string') throw new Error(`User ${user.id} has no identifier`);
  return name;
}

/**
 * POSTs `form` to the token endpoint as `client`, authenticating with the client's registered
 * method: HTTP Basic (client_secret_basic, the default), client_id and client_secret in the body
 * (client_secret_post), or client_id alone (none).
 */
export function clientTokenRequest(t: TestApp, client: CreatedClient, form: Record<string, string>): Promise<Response> {
  const req = t.http.post('/oauth2/token').type('form');
  switch (client.token_endpoint_auth_method ?? 'client_secret_basic') {
    case 'client_secret_basic':
      return req.auth(encodeURIComponent(client.client_id), encodeURIComponent(client.client_secret!)).send(form);
    case 'client_secret_post':
      return req.send({ client_id: client.client_id, client_secret: client.client_secret!, ...form });
    case 'none':
      return req.send({ client_id: client.client_id, ...form });
    default:
      throw new Error(`clientTokenRequest: unsupported method ${String(client.token_endpoint_auth_method)}`);
  }
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

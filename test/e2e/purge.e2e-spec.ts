import { PurgeService, type PurgeCounts } from '../../src/purge/purge.service';
import { startApp, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { login, loginName } from '../support/login';
import { loginForCode } from '../support/login-form';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NOTHING: PurgeCounts = { refreshTokens: 0, accessTokens: 0, authorizationCodes: 0, usedJtis: 0, tokenFamilies: 0, loginThrottle: 0, clientAuthFailures: 0, browserSessions: 0, logoutNotifications: 0 };

describe('Purge of expired rows (codes, tokens, replay cache, families)', () => {
  let t: TestApp;
  let client: CreatedClient;
  let user: CreatedUser;

  beforeAll(async () => {
    t = await startApp();
    client = await createClient(t, {
      grant_types: ['password', 'refresh_token', 'client_credentials', 'authorization_code'],
      redirect_uris: ['https://app.example/cb'],
      scope: 'openid offline_access api:read',
      default_scope: 'openid offline_access api:read',
    });
    user = await createUser(t);
  });
  afterAll(() => t.close());

  const basic = () => ({ id: client.client_id, secret: client.client_secret! });

  async function rowCounts() {
    const counts: Record<string, number> = {};
    for (const table of ['refresh_tokens', 'access_tokens', 'authorization_codes', 'used_jtis', 'token_families']) {
      const [row] = await t.db.query(`SELECT COUNT(*) AS n FROM ${table}`);
      counts[table] = Number(row.n);
    }
    return counts;
  }

  async function introspect(token: string) {
    const res = await t.http.post('/oauth2/introspect').auth(client.client_id, client.client_secret!).type('form').send({ token });
    expect(res.status).toBe(200);
    return res.body.active as boolean;
  }

  it('deletes each kind of row once it has expired (plus a margin) and keeps live ones', async () => {
    const purge = t.app.get(PurgeService);

    // A 30-day session with an opaque access token, and a session whose refresh token lives 10 minutes.
    const longSession = await login(t, client, user, { token_format: 'opaque' });
    const shortSession = await login(t, client, user, { refresh_expiry: '600' });
    // An opaque client_credentials token (1 hour).
    const service = await tokenRequest(t, { grant_type: 'client_credentials', scope: 'api:read', token_format: 'opaque' }, basic());
    expect(service.status).toBe(200);
    // A revoked JWT access token: a replay-cache row that lives as long as the JWT (1 hour).
    expect((await t.http.post('/oauth2/revoke').auth(client.client_id, client.client_secret!).type('form').send({ token: shortSession.access_token })).status).toBe(200);
    // An authorization code (10 minutes), issued by the hosted login page and never redeemed.
    await loginForCode(
      t,
      { response_type: 'code', client_id: client.client_id, redirect_uri: 'https://app.example/cb', scope: 'openid' },
      { username: loginName(user), password: user.password },
    );

    expect(await purge.purgeExpired()).toEqual(NOTHING);
    expect(await rowCounts()).toEqual({ refresh_tokens: 2, access_tokens: 2, authorization_codes: 1, used_jtis: 1, token_families: 2 });

    // Expired, but within the margin that covers clock differences between instances: kept.
    t.clock.advance(11 * MINUTE);
    expect(await purge.purgeExpired()).toEqual(NOTHING);

    // Past the margin: the code and the 10-minute refresh token go.
    t.clock.advance(5 * MINUTE);
    expect(await purge.purgeExpired()).toEqual({ ...NOTHING, refreshTokens: 1, authorizationCodes: 1 });
    expect(await introspect(longSession.refresh_token!)).toBe(true);
    expect(await introspect(longSession.access_token)).toBe(true);

    // Past one hour and the margin: the access tokens and the replay-cache row go.
    t.clock.advance(50 * MINUTE);
    expect(await purge.purgeExpired()).toEqual({ ...NOTHING, accessTokens: 2, usedJtis: 1 });
    expect(await rowCounts()).toEqual({ refresh_tokens: 1, access_tokens: 0, authorization_codes: 0, used_jtis: 0, token_families: 2 });

    // A family outlives its tokens by a day (JWT access tokens carry its id); then the short session's goes.
    // The login page's browser session is gone by then: it cannot outlive sso_session_max_seconds (10 hours).
    t.clock.advance(22 * HOUR);
    expect(await purge.purgeExpired()).toEqual({ ...NOTHING, browserSessions: 1 });
    expect(await t.db.query('SELECT session_id FROM browser_session_clients')).toEqual([]);
    t.clock.advance(2 * HOUR);
    expect(await purge.purgeExpired()).toEqual({ ...NOTHING, tokenFamilies: 1 });
    expect(await introspect(longSession.refresh_token!)).toBe(true);

    // After 30 days the long session's refresh token, and a day later its family, go too.
    t.clock.advance(29 * DAY);
    expect(await purge.purgeExpired()).toEqual({ ...NOTHING, refreshTokens: 1 });
    t.clock.advance(DAY + 10 * MINUTE);
    expect(await purge.purgeExpired()).toEqual({ ...NOTHING, tokenFamilies: 1 });
    expect(await rowCounts()).toEqual({ refresh_tokens: 0, access_tokens: 0, authorization_codes: 0, used_jtis: 0, token_families: 0 });
  });
});

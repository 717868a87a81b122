import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ISSUER, startApp, type TestApp } from '../support/app';
import { createClient, createUser, unique, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { clientTokenRequest, login, loginName, passwordGrant } from '../support/login';
import { loginForCode, pkcePair } from '../support/login-form';
import { atHashOf, clientPost, fetchJwks, introspect, kidOf, sha256Hex, userinfo, verifyAgainstJwks } from '../support/oidc';

const CB = 'https://app.example/callback';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const OPAQUE = /^[A-Za-z0-9_-]{43}$/;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const INVALID_TOKEN = 'The access token is invalid or expired';

/**
 * Whole journeys through the public HTTP interface, each feature handing over to the next: login
 * (authorization code or password) -> tokens -> UserInfo -> refresh -> introspection -> revocation,
 * and the admin actions that end or suspend them. Every step asserts the status, the body and the
 * rows it leaves behind.
 */
describe('End-to-end flows (SPEC §3-§6 together)', () => {
  let t: TestApp;
  let user: CreatedUser;

  beforeAll(async () => {
    t = await startApp();
    user = await createUser(t, {
      username: unique('ada'),
      email: `${unique('ada')}@example.com`,
      email_verified: true,
      name: 'Ada Lovelace',
      given_name: 'Ada',
      family_name: 'Lovelace',
    });
  });
  afterAll(() => t.close());
  afterEach(() => t.clock.reset());

  const admin = async () => ({ type: 'bearer' as const, token: await t.adminToken() });
  const adminApi = {
    post: async (path: string, body?: object) => t.http.post(path).auth((await admin()).token, { type: 'bearer' }).send(body),
    patch: async (path: string, body: object) => t.http.patch(path).auth((await admin()).token, { type: 'bearer' }).send(body),
    delete: async (path: string) => t.http.delete(path).auth((await admin()).token, { type: 'bearer' }),
  };

  const credentials = (u: CreatedUser = user) => ({ username: loginName(u), password: u.password });
  const refresh = (client: CreatedClient, refreshToken: string, extra: Record<string, string> = {}) =>
    clientTokenRequest(t, client, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra });
  const revoke = (client: CreatedClient, token: string) => clientPost(t, client, '/oauth2/revoke', { token });

  /** The profile and email claims of `user`, as UserInfo and the id_token release them. */
  const profileAndEmail = (u: CreatedUser = user) => ({
    name: 'Ada Lovelace',
    given_name: 'Ada',
    family_name: 'Lovelace',
    preferred_username: u.username,
    updated_at: Math.floor(Date.parse(u.updated_at as string) / 1000),
    email: u.email,
    email_verified: true,
  });

  function expectTokenHeaders(res: { headers: Record<string, string> }) {
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
  }

  function expectInvalidToken(res: { status: number; body: unknown; headers: Record<string, string> }) {
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_token', error_description: INVALID_TOKEN });
    expect(res.headers['www-authenticate']).toBe(`Bearer error="invalid_token", error_description="${INVALID_TOKEN}"`);
  }

  async function refreshRow(token: string) {
    const rows = await t.db.query('SELECT family_id, client_id, scope, rotated_at, expires_at FROM refresh_tokens WHERE token_hash = ?', [sha256Hex(token)]);
    return rows[0] as { family_id: string; client_id: string; scope: string; rotated_at: unknown; expires_at: unknown } | undefined;
  }

  async function familyRow(id: string) {
    const rows = await t.db.query(
      'SELECT id, user_id, client_id, scope, auth_time, exchange_deadline, code_hash, revoked_at, revoked_reason FROM token_families WHERE id = ?',
      [id],
    );
    const row = rows[0] as Record<string, unknown> | undefined;
    if (!row) return undefined;
    return {
      ...row,
      auth_time: Number(row.auth_time),
      exchange_deadline: Number(row.exchange_deadline),
      revoked: row.revoked_at !== null,
    } as { id: string; user_id: string; client_id: string; scope: string; auth_time: number; exchange_deadline: number; code_hash: string | null; revoked: boolean; revoked_reason: string | null };
  }

  /** No table holds a usable token: the raw value appears in no token column. */
  async function expectNotStored(token: string) {
    for (const [table, column] of [
      ['refresh_tokens', 'token_hash'],
      ['access_tokens', 'token_hash'],
      ['authorization_codes', 'code_hash'],
    ]) {
      const [row] = await t.db.query(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = ?`, [token]);
      expect(Number(row.n)).toBe(0);
    }
  }

  describe('authorization code (confidential, client_secret_basic) -> UserInfo -> refresh -> introspection -> revocation', () => {
    let client: CreatedClient;

    beforeAll(async () => {
      client = await createClient(t, {
        client_name: 'Web app',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [CB],
        scope: 'openid profile email offline_access',
        default_scope: 'openid profile',
      });
    });

    it('carries one login session (sid, auth_time) from the code through refreshes to its revocation', async () => {
      // 1. The hosted login page issues a code bound to the request.
      const loginAt = t.clock.nowSeconds();
      const { code, location } = await loginForCode(
        t,
        { response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'openid profile email offline_access', state: 'xyz', nonce: 'n-0S6_WzA2Mj' },
        credentials(),
      );
      expect(`${location.origin}${location.pathname}`).toBe(CB);
      expect(Object.fromEntries(location.searchParams)).toEqual({ code, state: 'xyz', iss: ISSUER });
      const [codeRow] = await t.db.query('SELECT client_id, user_id, nonce, consumed_at FROM authorization_codes WHERE code_hash = ?', [sha256Hex(code)]);
      expect(codeRow).toEqual({ client_id: client.client_id, user_id: user.id, nonce: 'n-0S6_WzA2Mj', consumed_at: null });
      await expectNotStored(code);

      // 2. The code is exchanged with HTTP Basic; a minute later, so iat and auth_time differ.
      t.clock.advance(MINUTE);
      const exchange = await clientTokenRequest(t, client, { grant_type: 'authorization_code', code, redirect_uri: CB });
      expect(exchange.status).toBe(200);
      expectTokenHeaders(exchange);
      const first = exchange.body;
      expect(first).toEqual({
        access_token: expect.stringMatching(JWT),
        token_type: 'Bearer',
        expires_in: 3600,
        scope: 'openid profile email offline_access',
        refresh_token: expect.stringMatching(OPAQUE),
        refresh_expires_in: 30 * 24 * 3600,
        id_token: expect.stringMatching(JWT),
      });
      const [consumed] = await t.db.query('SELECT consumed_at FROM authorization_codes WHERE code_hash = ?', [sha256Hex(code)]);
      expect(consumed.consumed_at).not.toBeNull();

      const idToken = await verifyAgainstJwks(t, first.id_token, { audience: client.client_id });
      expect(idToken.header).toEqual({ alg: 'RS256', kid: expect.any(String) });
      // The access token (and introspection) name the login's token family; the id_token's sid is the
      // browser's single sign-on session, the one logout tokens name (SPEC §5).
      const sid = decodeJwt(first.access_token).sid as string;
      const browserSid = idToken.payload.sid as string;
      expect((await t.db.query('SELECT browser_session_id FROM token_families WHERE id = ?', [sid]))[0].browser_session_id).toBe(browserSid);
      expect(idToken.payload).toEqual({
        iss: ISSUER,
        sub: user.id,
        aud: client.client_id,
        iat: expect.any(Number),
        exp: (idToken.payload.iat as number) + 3600,
        auth_time: expect.any(Number),
        nonce: 'n-0S6_WzA2Mj',
        at_hash: atHashOf(first.access_token, 'RS256'),
        sid: expect.any(String),
        amr: ['pwd'],
        ...profileAndEmail(),
      });
      expect(idToken.payload.auth_time).toBeGreaterThanOrEqual(loginAt);
      expect(idToken.payload.auth_time).toBeLessThan(idToken.payload.iat as number);
      const authTime = idToken.payload.auth_time as number;

      const access = await verifyAgainstJwks(t, first.access_token, { audience: client.client_id, typ: 'at+jwt' });
      expect(access.payload).toEqual({
        iss: ISSUER,
        sub: user.id,
        aud: client.client_id,
        exp: (access.payload.iat as number) + 3600,
        iat: expect.any(Number),
        jti: expect.any(String),
        client_id: client.client_id,
        scope: 'openid profile email offline_access',
        auth_time: authTime,
        sid,
      });

      // The session row: who, which client, from which code, and when the user authenticated.
      expect(await familyRow(sid)).toMatchObject({
        user_id: user.id,
        client_id: client.client_id,
        scope: 'openid profile email offline_access',
        code_hash: sha256Hex(code),
        revoked: false,
      });
      expect(Math.floor((await familyRow(sid))!.auth_time / 1000)).toBe(authTime);
      expect(await refreshRow(first.refresh_token)).toMatchObject({ family_id: sid, client_id: client.client_id, rotated_at: null });
      await expectNotStored(first.refresh_token);

      // 3. UserInfo with the JWT access token.
      const me = await userinfo(t, first.access_token);
      expect(me.status).toBe(200);
      expect(me.body).toEqual({ sub: user.id, ...profileAndEmail() });

      // 4. Ten minutes later, a refresh: same session, new tokens, no nonce (OIDC Core §12.2).
      t.clock.advance(10 * MINUTE);
      const refreshed = await refresh(client, first.refresh_token);
      expect(refreshed.status).toBe(200);
      expectTokenHeaders(refreshed);
      const second = refreshed.body;
      expect(second).toEqual({
        access_token: expect.stringMatching(JWT),
        token_type: 'Bearer',
        expires_in: 3600,
        scope: 'openid profile email offline_access',
        refresh_token: expect.stringMatching(OPAQUE),
        refresh_expires_in: 30 * 24 * 3600,
        id_token: expect.stringMatching(JWT),
      });
      expect(second.refresh_token).not.toBe(first.refresh_token);
      const renewed = await verifyAgainstJwks(t, second.id_token, { audience: client.client_id });
      expect(renewed.payload).toEqual({
        iss: ISSUER,
        sub: user.id,
        aud: client.client_id,
        iat: expect.any(Number),
        exp: (renewed.payload.iat as number) + 3600,
        auth_time: authTime,
        at_hash: atHashOf(second.access_token, 'RS256'),
        sid: browserSid,
        amr: ['pwd'],
        ...profileAndEmail(),
      });
      expect(renewed.payload).not.toHaveProperty('nonce');
      expect(renewed.payload.iat).toBeGreaterThanOrEqual((idToken.payload.iat as number) + 600);
      expect(decodeJwt(second.access_token)).toMatchObject({ sid, auth_time: authTime, sub: user.id });
      expect(await refreshRow(first.refresh_token)).toMatchObject({ family_id: sid, rotated_at: expect.anything() });
      expect(await refreshRow(second.refresh_token)).toMatchObject({ family_id: sid, rotated_at: null });

      // 5. Introspection: the new tokens are active and name the session; the spent refresh token is not.
      const accessInfo = await introspect(t, client, second.access_token);
      expect(accessInfo).toEqual({
        active: true,
        scope: 'openid profile email offline_access',
        client_id: client.client_id,
        username: user.username,
        token_type: 'Bearer',
        exp: decodeJwt(second.access_token).exp,
        iat: decodeJwt(second.access_token).iat,
        sub: user.id,
        aud: client.client_id,
        iss: ISSUER,
        jti: decodeJwt(second.access_token).jti,
        auth_time: authTime,
        sid,
      });
      expect(await introspect(t, client, second.refresh_token)).toEqual({
        active: true,
        scope: 'openid profile email offline_access',
        client_id: client.client_id,
        username: user.username,
        token_type: 'refresh_token',
        exp: expect.any(Number),
        iat: expect.any(Number),
        sub: user.id,
        iss: ISSUER,
        auth_time: authTime,
        sid,
      });
      expect(await introspect(t, client, first.refresh_token)).toEqual({ active: false });
      // The first access token is not spent by the refresh: it lives until it expires or the session ends.
      expect((await introspect(t, client, first.access_token)).active).toBe(true);

      // 6. Revoking the refresh token ends the session and every token of it.
      const revoked = await revoke(client, second.refresh_token);
      expect(revoked.status).toBe(200);
      expect(revoked.text).toBe('');
      expect(await familyRow(sid)).toMatchObject({ revoked: true, revoked_reason: 'revoked' });

      const again = await refresh(client, second.refresh_token);
      expect(again.status).toBe(400);
      expectTokenHeaders(again);
      expect(again.body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has been revoked' });
      for (const accessToken of [first.access_token, second.access_token]) {
        expectInvalidToken(await userinfo(t, accessToken));
        expect(await introspect(t, client, accessToken)).toEqual({ active: false });
      }
      expect(await introspect(t, client, second.refresh_token)).toEqual({ active: false });
      // The JWTs still verify cryptographically: it is the server that refuses them.
      await expect(verifyAgainstJwks(t, second.access_token, { typ: 'at+jwt' })).resolves.toBeDefined();
    });

    it('authenticates the code exchange with client_secret_post as well', async () => {
      const postClient = await createClient(t, {
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['authorization_code'],
        redirect_uris: [CB],
        scope: 'openid',
        default_scope: 'openid',
      });
      const { code } = await loginForCode(t, { response_type: 'code', client_id: postClient.client_id, redirect_uri: CB }, credentials());
      const res = await clientTokenRequest(t, postClient, { grant_type: 'authorization_code', code, redirect_uri: CB });
      expect(res.status).toBe(200);
      // No refresh_token grant on this client: no refresh token, whatever the scope.
      expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'id_token', 'scope', 'token_type']);
      const me = await userinfo(t, res.body.access_token);
      expect(me.status).toBe(200);
      expect(me.body).toEqual({ sub: user.id });
    });
  });

  describe('opaque access tokens (token_format per request and access_token_format per client)', () => {
    let perRequest: CreatedClient;
    let perClient: CreatedClient;

    beforeAll(async () => {
      const body = { grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [CB], scope: 'openid email offline_access', default_scope: 'openid email offline_access' };
      perRequest = await createClient(t, body);
      perClient = await createClient(t, { ...body, access_token_format: 'opaque' });
    });

    async function opaqueRow(token: string) {
      const rows = await t.db.query('SELECT client_id, user_id, family_id, scope, audience, revoked_at, expires_at FROM access_tokens WHERE token_hash = ?', [sha256Hex(token)]);
      return rows[0] as Record<string, unknown> | undefined;
    }

    async function codeFor(client: CreatedClient) {
      const { code } = await loginForCode(t, { response_type: 'code', client_id: client.client_id, redirect_uri: CB }, credentials());
      return code;
    }

    for (const mode of ['per request', 'per client'] as const) {
      it(`issues, serves, introspects and ends opaque tokens (${mode})`, async () => {
        const client = mode === 'per request' ? perRequest : perClient;
        const format: Record<string, string> = mode === 'per request' ? { token_format: 'opaque' } : {};
        const code = await codeFor(client);
        const exchange = await clientTokenRequest(t, client, { grant_type: 'authorization_code', code, redirect_uri: CB, ...format });
        expect(exchange.status).toBe(200);
        const first = exchange.body;
        expect(first.access_token).toMatch(OPAQUE);
        expect(first.token_type).toBe('Bearer');

        // Stored as a hash only, bound to the user, the client and the session.
        const idToken = await verifyAgainstJwks(t, first.id_token, { audience: client.client_id });
        // The token family; the id_token's sid is the browser session's.
        const sid = (await t.db.query('SELECT id FROM token_families WHERE browser_session_id = ? AND client_id = ?', [idToken.payload.sid, client.client_id]))[0].id as string;
        expect(idToken.payload.at_hash).toBe(atHashOf(first.access_token, 'RS256'));
        expect(await opaqueRow(first.access_token)).toEqual({
          client_id: client.client_id,
          user_id: user.id,
          family_id: sid,
          scope: 'openid email offline_access',
          audience: client.client_id,
          revoked_at: null,
          expires_at: expect.anything(),
        });
        await expectNotStored(first.access_token);
        await expectNotStored(first.refresh_token);

        const me = await userinfo(t, first.access_token);
        expect(me.status).toBe(200);
        expect(me.body).toEqual({ sub: user.id, email: user.email, email_verified: true });
        expect(await introspect(t, client, first.access_token)).toMatchObject({ active: true, token_type: 'Bearer', sub: user.id, sid, client_id: client.client_id });

        // On refresh the format is again the request's, else the client's.
        const refreshed = await refresh(client, first.refresh_token, format);
        expect(refreshed.status).toBe(200);
        expect(refreshed.body.access_token).toMatch(OPAQUE);
        expect(await opaqueRow(refreshed.body.access_token)).toMatchObject({ family_id: sid, revoked_at: null });
        expect((await userinfo(t, refreshed.body.access_token)).status).toBe(200);
        if (mode === 'per request') {
          const asJwt = await refresh(client, refreshed.body.refresh_token);
          expect(asJwt.status).toBe(200);
          expect(asJwt.body.access_token).toMatch(JWT);
          expect(decodeJwt(asJwt.body.access_token).sid).toBe(sid);
          refreshed.body.refresh_token = asJwt.body.refresh_token;
        }

        // Revoking the refresh token ends the session: the opaque tokens stop at once.
        expect((await revoke(client, refreshed.body.refresh_token)).status).toBe(200);
        expect(await familyRow(sid)).toMatchObject({ revoked: true, revoked_reason: 'revoked' });
        for (const accessToken of [first.access_token, refreshed.body.access_token]) {
          expectInvalidToken(await userinfo(t, accessToken));
          expect(await introspect(t, client, accessToken)).toEqual({ active: false });
        }
        expect((await refresh(client, refreshed.body.refresh_token)).body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has been revoked' });
      });
    }

    it('revokes a single opaque access token without ending its session', async () => {
      const code = await codeFor(perClient);
      const tokens = (await clientTokenRequest(t, perClient, { grant_type: 'authorization_code', code, redirect_uri: CB })).body;
      expect((await revoke(perClient, tokens.access_token)).status).toBe(200);
      expect((await opaqueRow(tokens.access_token))!.revoked_at).not.toBeNull();
      expectInvalidToken(await userinfo(t, tokens.access_token));
      const refreshed = await refresh(perClient, tokens.refresh_token);
      expect(refreshed.status).toBe(200);
      expect((await userinfo(t, refreshed.body.access_token)).status).toBe(200);
    });
  });

  describe('public client (none) with PKCE', () => {
    let spa: CreatedClient;

    beforeAll(async () => {
      spa = await createClient(t, {
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [CB],
        scope: 'openid profile offline_access',
        default_scope: 'openid profile offline_access',
      });
      expect(spa.client_secret).toBeUndefined();
    });

    it('logs in with S256, exchanges the code with the verifier and refreshes without a secret', async () => {
      const pkce = pkcePair();
      const { code } = await loginForCode(
        t,
        { response_type: 'code', client_id: spa.client_id, redirect_uri: CB, state: 's', nonce: 'n', code_challenge: pkce.challenge, code_challenge_method: 'S256' },
        credentials(),
      );
      const [codeRow] = await t.db.query('SELECT code_challenge, code_challenge_method FROM authorization_codes WHERE code_hash = ?', [sha256Hex(code)]);
      expect(codeRow).toEqual({ code_challenge: pkce.challenge, code_challenge_method: 'S256' });

      // Without the verifier the public client cannot redeem it (and the code is not spent).
      const withoutVerifier = await clientTokenRequest(t, spa, { grant_type: 'authorization_code', code, redirect_uri: CB });
      expect(withoutVerifier.status).toBe(400);
      expect(withoutVerifier.body).toEqual({ error: 'invalid_grant', error_description: 'code_verifier is required' });

      const exchange = await clientTokenRequest(t, spa, { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: pkce.verifier });
      expect(exchange.status).toBe(200);
      const idToken = await verifyAgainstJwks(t, exchange.body.id_token, { audience: spa.client_id });
      expect(idToken.payload).toMatchObject({ sub: user.id, nonce: 'n', at_hash: atHashOf(exchange.body.access_token, 'RS256') });
      expect((await userinfo(t, exchange.body.access_token)).body).toMatchObject({ sub: user.id, preferred_username: user.username });

      t.clock.advance(5 * MINUTE);
      const refreshed = await refresh(spa, exchange.body.refresh_token);
      expect(refreshed.status).toBe(200);
      const renewed = await verifyAgainstJwks(t, refreshed.body.id_token, { audience: spa.client_id });
      expect(renewed.payload).toMatchObject({ sid: idToken.payload.sid, auth_time: idToken.payload.auth_time });
      expect(renewed.payload).not.toHaveProperty('nonce');
      expect(await refreshRow(exchange.body.refresh_token)).toMatchObject({ rotated_at: expect.anything() });

      // A public client may not introspect, not even its own tokens (SPEC §4); another public client cannot use them.
      const introspected = await clientPost(t, spa, '/oauth2/introspect', { token: refreshed.body.access_token });
      expect({ status: introspected.status, body: introspected.body }).toEqual({ status: 401, body: { error: 'invalid_client', error_description: 'Bad client credentials' } });
      const other = await createClient(t, { token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [CB] });
      expect((await refresh(other, refreshed.body.refresh_token)).body).toEqual({ error: 'invalid_grant', error_description: 'Invalid refresh token' });
      expect((await refresh(spa, refreshed.body.refresh_token)).status).toBe(200);
    });
  });

  describe('password grant with refresh_expiry and max_exchange_period', () => {
    let client: CreatedClient;

    beforeAll(async () => {
      client = await createClient(t, { grant_types: ['password', 'refresh_token'], scope: 'openid offline_access', default_scope: 'openid offline_access' });
    });

    /** Seconds from now until the family's exchange deadline. */
    async function secondsToDeadline(sid: string): Promise<number> {
      const family = await familyRow(sid);
      return Math.floor((family!.exchange_deadline - t.clock.nowMs()) / 1000);
    }

    it('never lets a refresh token outlive the exchange period, then refuses the refresh past it and ends the session', async () => {
      const res = await passwordGrant(t, client, user, { refresh_expiry: '7200', max_exchange_period: '3' });
      expect(res.status).toBe(200);
      const first = res.body;
      expect(first.refresh_expires_in).toBe(7200);
      const sid = decodeJwt(first.access_token).sid as string;
      const family = await familyRow(sid);
      expect(family!.exchange_deadline - family!.auth_time).toBe(3 * HOUR);
      const row = await refreshRow(first.refresh_token);
      expect(Number(row!.expires_at)).toBeLessThanOrEqual(family!.exchange_deadline);

      // An hour later: the client's 30 days are cut to the two hours left of the exchange period.
      t.clock.advance(HOUR);
      let current = first.refresh_token as string;
      for (const step of [0, 90 * MINUTE, 25 * MINUTE]) {
        t.clock.advance(step);
        const left = await secondsToDeadline(sid);
        const next = await refresh(client, current);
        expect(next.status).toBe(200);
        expect(next.body.refresh_expires_in).toBeLessThanOrEqual(left);
        expect(next.body.refresh_expires_in).toBeGreaterThanOrEqual(left - 1);
        const stored = await refreshRow(next.body.refresh_token);
        expect(Number(stored!.expires_at)).toBeLessThanOrEqual((await familyRow(sid))!.exchange_deadline);
        current = next.body.refresh_token;
      }
      // Three hours and a minute after the login: over.
      t.clock.advance(6 * MINUTE);
      const late = await refresh(client, current);
      expect(late.status).toBe(400);
      expectTokenHeaders(late);
      expect(late.body).toEqual({ error: 'invalid_grant', error_description: 'Maximum exchange period exceeded' });
      expect(await familyRow(sid)).toMatchObject({ revoked: true, revoked_reason: 'exchange_period_exceeded' });
      expectInvalidToken(await userinfo(t, first.access_token));
      expect(await introspect(t, client, current)).toEqual({ active: false });
    });

    it('a smaller max_exchange_period on a refresh shortens the session for good; a larger one is ignored', async () => {
      const first = await login(t, client, user);
      const sid = decodeJwt(first.access_token).sid as string;
      const { auth_time } = (await familyRow(sid))!;
      expect(first.refresh_expires_in).toBe(30 * 24 * 3600);

      t.clock.advance(30 * MINUTE);
      const shortened = await refresh(client, first.refresh_token!, { max_exchange_period: '1' });
      expect(shortened.status).toBe(200);
      expect((await familyRow(sid))!.exchange_deadline).toBe(auth_time + HOUR);
      expect(shortened.body.refresh_expires_in).toBeLessThanOrEqual(30 * 60);
      expect(shortened.body.refresh_expires_in).toBeGreaterThanOrEqual(30 * 60 - 1);

      const ignored = await refresh(client, shortened.body.refresh_token, { max_exchange_period: '4320' });
      expect(ignored.status).toBe(200);
      expect((await familyRow(sid))!.exchange_deadline).toBe(auth_time + HOUR);

      t.clock.advance(31 * MINUTE);
      expect((await refresh(client, ignored.body.refresh_token)).body).toEqual({ error: 'invalid_grant', error_description: 'Maximum exchange period exceeded' });
    });

    it('refresh_expiry=0 returns no refresh token, and the access token still works', async () => {
      const res = await passwordGrant(t, client, user, { refresh_expiry: '0' });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'id_token', 'scope', 'token_type']);
      const sid = decodeJwt(res.body.access_token).sid as string;
      const [count] = await t.db.query('SELECT COUNT(*) AS n FROM refresh_tokens WHERE family_id = ?', [sid]);
      expect(Number(count.n)).toBe(0);
      expect((await userinfo(t, res.body.access_token)).status).toBe(200);
    });
  });

  describe('admin actions on live sessions', () => {
    let client: CreatedClient;

    beforeAll(async () => {
      client = await createClient(t, {
        grant_types: ['password', 'refresh_token'],
        scope: 'openid profile offline_access',
        default_scope: 'openid profile offline_access',
      });
    });

    it('disabling a user ends their sessions: refresh, UserInfo and introspection all refuse; re-enabling does not revive them', async () => {
      const victim = await createUser(t);
      const jwt = await login(t, client, victim);
      const opaque = await login(t, client, victim, { token_format: 'opaque' });

      const patched = await adminApi.patch(`/admin/users/${victim.id}`, { disabled: true });
      expect(patched.status).toBe(200);
      expect(patched.body.disabled).toBe(true);
      for (const session of [jwt, opaque]) {
        const sid = (await refreshRow(session.refresh_token!))!.family_id;
        expect(await familyRow(sid)).toMatchObject({ revoked: true, revoked_reason: 'user_disabled' });
        expect((await refresh(client, session.refresh_token!)).body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has been revoked' });
        expectInvalidToken(await userinfo(t, session.access_token));
        expect(await introspect(t, client, session.access_token)).toEqual({ active: false });
        expect(await introspect(t, client, session.refresh_token!)).toEqual({ active: false });
      }
      expect((await passwordGrant(t, client, victim)).body).toEqual({ error: 'invalid_grant', error_description: 'User is disabled', error_code: 'USER_DISABLED' });

      expect((await adminApi.patch(`/admin/users/${victim.id}`, { disabled: false })).status).toBe(200);
      expect((await refresh(client, jwt.refresh_token!)).status).toBe(400);
      expectInvalidToken(await userinfo(t, jwt.access_token));
      const fresh = await login(t, client, victim);
      expect((await userinfo(t, fresh.access_token)).status).toBe(200);
    });

    it('DELETE /admin/users/{id}/sessions ends every session of the user at every client, and only theirs', async () => {
      const target = await createUser(t);
      const bystander = await createUser(t);
      const otherClient = await createClient(t, { grant_types: ['password', 'refresh_token'], scope: 'openid offline_access', default_scope: 'openid offline_access' });
      const atClient = await login(t, client, target);
      const atOther = await login(t, otherClient, target, { token_format: 'opaque' });
      const untouched = await login(t, client, bystander);

      const res = await adminApi.delete(`/admin/users/${target.id}/sessions`);
      expect(res.status).toBe(204);
      for (const [c, session] of [[client, atClient], [otherClient, atOther]] as const) {
        expect(await familyRow((await refreshRow(session.refresh_token!))!.family_id)).toMatchObject({ revoked: true, revoked_reason: 'admin' });
        expect((await refresh(c, session.refresh_token!)).body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has been revoked' });
        expectInvalidToken(await userinfo(t, session.access_token));
        expect(await introspect(t, c, session.access_token)).toEqual({ active: false });
      }
      expect((await userinfo(t, untouched.access_token)).status).toBe(200);
      expect((await refresh(client, untouched.refresh_token!)).status).toBe(200);
      // The user may log in again at once.
      expect((await userinfo(t, (await login(t, client, target)).access_token)).status).toBe(200);
    });

    it('an admin lock ends the user\'s sessions without spending the token; unlocking lets the user log in again but revives nothing', async () => {
      const locked = await createUser(t);
      const session = await login(t, client, locked);
      const sid = (await refreshRow(session.refresh_token!))!.family_id;

      expect((await adminApi.post(`/admin/users/${locked.id}/lock`)).status).toBe(200);
      expect(await familyRow(sid)).toMatchObject({ revoked: true, revoked_reason: 'user_locked' });
      const refused = await refresh(client, session.refresh_token!);
      expect(refused.status).toBe(400);
      expectTokenHeaders(refused);
      expect(refused.body.error).toBe('invalid_grant');
      expect((await passwordGrant(t, client, locked)).body).toEqual({ error: 'invalid_grant', error_description: 'User is locked', error_code: 'USER_LOCKED' });
      expect(await refreshRow(session.refresh_token!)).toMatchObject({ rotated_at: null });

      expect((await adminApi.post(`/admin/users/${locked.id}/unlock`)).status).toBe(200);
      expect((await refresh(client, session.refresh_token!)).status).toBe(400);
      const fresh = await login(t, client, locked);
      expect(decodeJwt(fresh.access_token).sid).not.toBe(sid);
    });

    it('deleting a client ends its sessions, tokens and codes; a client registered again under its client_id inherits none of them', async () => {
      const body = {
        grant_types: ['password', 'refresh_token', 'client_credentials', 'authorization_code'],
        redirect_uris: [CB],
        scope: 'openid offline_access api:read',
        default_scope: 'openid offline_access',
      };
      const doomed = await createClient(t, body);
      const jwtSession = await login(t, doomed, user);
      const opaqueSession = await login(t, doomed, user, { token_format: 'opaque' });
      const serviceJwt = (await clientTokenRequest(t, doomed, { grant_type: 'client_credentials', scope: 'api:read' })).body.access_token as string;
      const serviceOpaque = (await clientTokenRequest(t, doomed, { grant_type: 'client_credentials', scope: 'api:read', token_format: 'opaque' })).body.access_token as string;
      const { code } = await loginForCode(t, { response_type: 'code', client_id: doomed.client_id, redirect_uri: CB }, credentials());

      expect((await adminApi.delete(`/admin/clients/${doomed.client_id}`)).status).toBe(204);
      const families = await t.db.query('SELECT revoked_at, revoked_reason FROM token_families WHERE client_id = ?', [doomed.client_id]);
      expect(families).toHaveLength(2);
      for (const family of families) expect(family).toEqual({ revoked_at: expect.anything(), revoked_reason: 'client_deleted' });
      const [liveOpaque] = await t.db.query('SELECT COUNT(*) AS n FROM access_tokens WHERE client_id = ? AND revoked_at IS NULL', [doomed.client_id]);
      expect(Number(liveOpaque.n)).toBe(0);
      const [codes] = await t.db.query('SELECT COUNT(*) AS n FROM authorization_codes WHERE client_id = ?', [doomed.client_id]);
      expect(Number(codes.n)).toBe(0);
      const events = await t.http.get('/admin/audit-events').query({ type: 'admin.client.deleted', client: doomed.client_id }).auth((await admin()).token, { type: 'bearer' });
      expect(events.body[0].details).toMatchObject({ ended_sessions: 2, revoked_access_tokens: 2, discarded_codes: 1 });
      for (const session of [jwtSession, opaqueSession]) expectInvalidToken(await userinfo(t, session.access_token));

      // Later, another application is registered under the same client_id.
      t.clock.advance(MINUTE);
      const reborn = await createClient(t, { ...body, client_id: doomed.client_id });
      for (const session of [jwtSession, opaqueSession]) {
        expect((await refresh(reborn, session.refresh_token!)).body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has been revoked' });
        expect(await introspect(t, reborn, session.access_token)).toEqual({ active: false });
        expect(await introspect(t, reborn, session.refresh_token!)).toEqual({ active: false });
      }
      expect(await introspect(t, reborn, serviceJwt)).toEqual({ active: false });
      expect(await introspect(t, reborn, serviceOpaque)).toEqual({ active: false });
      const redeem = await clientTokenRequest(t, reborn, { grant_type: 'authorization_code', code, redirect_uri: CB });
      expect(redeem.body).toEqual({ error: 'invalid_grant', error_description: 'Invalid authorization code' });
      // Its own tokens work.
      const own = await clientTokenRequest(t, reborn, { grant_type: 'client_credentials', scope: 'api:read' });
      expect(await introspect(t, reborn, own.body.access_token)).toMatchObject({ active: true, client_id: reborn.client_id });
      expect((await userinfo(t, (await login(t, reborn, user)).access_token)).status).toBe(200);
    });

    it("an admin client's token does not outlive the client: re-registering its client_id does not revive it", async () => {
      const first = await createClient(t, { scope: 'admin', default_scope: 'admin' });
      const oldToken = (await clientTokenRequest(t, first, { grant_type: 'client_credentials' })).body.access_token as string;
      expect((await t.http.get('/admin/policy').auth(oldToken, { type: 'bearer' })).status).toBe(200);
      expect((await adminApi.delete(`/admin/clients/${first.client_id}`)).status).toBe(204);
      t.clock.advance(MINUTE);
      const second = await createClient(t, { client_id: first.client_id, scope: 'admin', default_scope: 'admin' });
      const refused = await t.http.get('/admin/policy').auth(oldToken, { type: 'bearer' });
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual({ error: 'invalid_token', error_description: 'The client of this access token is no longer an enabled admin client' });
      const newToken = (await clientTokenRequest(t, second, { grant_type: 'client_credentials' })).body.access_token as string;
      expect((await t.http.get('/admin/policy').auth(newToken, { type: 'bearer' })).status).toBe(200);
    });

    it('key rotation mid-session: earlier tokens keep verifying and working; new ones carry the new kid once every instance publishes it', async () => {
      const before = await login(t, client, user);
      const oldKid = kidOf(before.id_token!);
      expect(kidOf(before.access_token)).toBe(oldKid);

      const rotated = await adminApi.post('/admin/keys/rotate');
      expect(rotated.status).toBe(200);
      expect(rotated.body).toEqual({ kids: [expect.any(String), expect.any(String), expect.any(String)] });
      expect(rotated.body.kids).not.toContain(oldKid);
      const jwks = await fetchJwks(t);
      const kids = jwks.keys.map((k) => k.kid);
      expect(kids).toEqual(expect.arrayContaining([oldKid, ...rotated.body.kids]));
      const newRsaKid = jwks.keys.find((k) => rotated.body.kids.includes(k.kid) && k.alg === 'RS256')!.kid;
      const [stored] = await t.db.query('SELECT retired_at, expires_at FROM `keys` WHERE kid = ?', [oldKid]);
      expect(stored.retired_at).not.toBeNull();
      expect(stored.expires_at).not.toBeNull();

      // What was issued before the rotation still verifies against the JWKS and is accepted.
      await expect(verifyAgainstJwks(t, before.id_token!, { audience: client.client_id })).resolves.toBeDefined();
      await expect(verifyAgainstJwks(t, before.access_token, { audience: client.client_id, typ: 'at+jwt' })).resolves.toBeDefined();
      expect((await userinfo(t, before.access_token)).status).toBe(200);
      expect((await introspect(t, client, before.access_token)).active).toBe(true);

      // Until every instance can have published the new key (CACHE_TTL_SECONDS, 5 by default, the
      // age of another instance's cached JWKS), tokens are still signed with the old one.
      const early = await login(t, client, user);
      expect(kidOf(early.id_token!)).toBe(oldKid);
      expect(kidOf(early.access_token)).toBe(oldKid);
      t.clock.advance(5_000);

      // Then a refresh of that session and a new login sign with the new key.
      const refreshed = await refresh(client, before.refresh_token!);
      expect(refreshed.status).toBe(200);
      const fresh = await login(t, client, user);
      for (const token of [refreshed.body.id_token, refreshed.body.access_token, fresh.id_token!, fresh.access_token]) {
        expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', kid: newRsaKid });
        await expect(verifyAgainstJwks(t, token)).resolves.toBeDefined();
      }
      expect(decodeJwt(refreshed.body.id_token).sid).toBe(decodeJwt(before.id_token!).sid);
      expect((await userinfo(t, fresh.access_token)).status).toBe(200);
    });
  });

  describe('tokens used where they do not belong', () => {
    it('a client_credentials token is refused at UserInfo: it has no user', async () => {
      const service = await createClient(t, { grant_types: ['client_credentials'], scope: 'openid api:read', default_scope: 'api:read' });
      const res = await clientTokenRequest(t, service, { grant_type: 'client_credentials', scope: 'openid api:read' });
      expect(res.status).toBe(200);
      // openid is dropped from client_credentials, and no id_token is issued.
      expect(res.body).toEqual({ access_token: expect.stringMatching(JWT), token_type: 'Bearer', expires_in: 3600, scope: 'api:read' });
      expect(decodeJwt(res.body.access_token)).toMatchObject({ sub: service.client_id, client_id: service.client_id });
      expectInvalidToken(await userinfo(t, res.body.access_token));
      const opaque = await clientTokenRequest(t, service, { grant_type: 'client_credentials', token_format: 'opaque' });
      expectInvalidToken(await userinfo(t, opaque.body.access_token));
    });

    it('a user token without the admin scope cannot call the admin API', async () => {
      const app = await createClient(t, { grant_types: ['password'], scope: 'openid profile', default_scope: 'openid profile' });
      const keysBefore = await fetchJwks(t);
      for (const token_format of ['jwt', 'opaque']) {
        const tokens = await login(t, app, user, { token_format });
        for (const call of [
          t.http.get('/admin/users'),
          t.http.get(`/admin/users/${user.id}`),
          t.http.post(`/admin/users/${user.id}/lock`),
          t.http.post('/admin/keys/rotate'),
        ]) {
          const res = await call.set('Authorization', `Bearer ${tokens.access_token}`);
          expect(res.status).toBe(403);
          expect(res.body).toEqual({ error: 'insufficient_scope', error_description: 'The access token lacks the "admin" scope' });
          expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="admin"');
        }
      }
      // Nothing happened: the user is not locked and the keys did not change.
      const [row] = await t.db.query('SELECT admin_locked FROM users WHERE id = ?', [user.id]);
      expect(Boolean(Number(row.admin_locked))).toBe(false);
      expect(await fetchJwks(t)).toEqual(keysBefore);
    });
  });
});

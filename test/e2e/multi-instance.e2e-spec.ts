import { base64url, createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { StoredKey } from '../../src/keys/signing-key.entity';
import { ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, ISSUER, closeInstances, startApp, startInstances, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { openLoginPage, submitLogin } from '../support/login-form';

const CB = 'https://app.example/callback';

/**
 * SPEC §1 scale-out: "N instances behind a load balancer against one database behave as one".
 * Two instances of the real app share one database; every decision that must be taken once (lockout
 * counter, refresh rotation) is taken once whichever instance a request reaches, and every change
 * made through one instance (policy, keys, revocation, admin changes) holds on the other at once.
 * Both run with CACHE_TTL_SECONDS=0 (no caching of clients, policy and keys), which is what "at
 * once" needs; with the default, such a change holds on the other instance within CACHE_TTL_SECONDS
 * (test/e2e/cache-instances.e2e-spec.ts).
 */
describe('Several instances on one database (SPEC §1 scale-out)', () => {
  let a: Awaited<ReturnType<typeof startApp>>;
  let b: TestApp;
  let client: CreatedClient;

  beforeAll(async () => {
    ({ a, b } = await startInstances({ CACHE_TTL_SECONDS: '0' }));
    client = await createClient(a, {
      grant_types: ['password', 'refresh_token', 'client_credentials'],
      scope: 'openid profile offline_access api',
      access_token_format: 'jwt',
    });
  });
  afterAll(() => closeInstances(a, b));

  const basic = () => ({ id: client.client_id, secret: client.client_secret! });
  /** Round-robin: even-numbered requests go to A, odd-numbered to B. */
  const instance = (i: number) => (i % 2 ? b : a);
  const passwordLogin = (t: TestApp, user: CreatedUser, password = user.password, extra: Record<string, string> = {}) =>
    tokenRequest(t, { grant_type: 'password', username: user.username as string, password, ...extra }, basic());
  const putPolicy = async (t: TestApp, policy: Partial<Record<string, number>>) => {
    const res = await t.http
      .put('/admin/policy')
      .auth(await t.adminToken(), { type: 'bearer' })
      .send({ lockout_threshold: 5, lockout_duration_seconds: 900, password_max_age_days: 0, initial_password_ttl_hours: 72, refresh_token_grace_seconds: 0, ...policy });
    expect(res.status).toBe(200);
  };
  const userRow = async (user: CreatedUser) => {
    const [row] = await a.db.query('SELECT failed_login_count, locked_at FROM users WHERE id = ?', [user.id]);
    return { failed: Number(row.failed_login_count), locked: row.locked_at !== null };
  };
  afterEach(() => putPolicy(a, {}));

  describe('lockout', () => {
    it('a policy PUT on A takes effect on B at once', async () => {
      await putPolicy(a, { lockout_threshold: 2 });
      expect((await b.http.get('/admin/policy').auth(await b.adminToken(), { type: 'bearer' })).body.lockout_threshold).toBe(2);
      const user = await createUser(a);
      for (let i = 0; i < 2; i++) expect((await passwordLogin(b, user, 'wrong password')).body.error_description).toBe('Bad credentials');
      const refused = await passwordLogin(b, user);
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({ error: 'invalid_grant', error_description: 'User is locked', error_code: 'USER_LOCKED' });
      expect(await userRow(user)).toEqual({ failed: 2, locked: true });
    });

    it('counts 20 concurrent wrong passwords split over both instances exactly once each, and locks the user on both', async () => {
      await putPolicy(b, { lockout_threshold: 20 });
      const user = await createUser(a);
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => passwordLogin(instance(i), user, `wrong-${i}`)));
      expect(responses.map((r) => r.body.error_description)).toEqual(Array(20).fill('Bad credentials'));
      expect(await userRow(user)).toEqual({ failed: 20, locked: true });
      for (const t of [a, b]) {
        const res = await passwordLogin(t, user);
        expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'User is locked', error_code: 'USER_LOCKED' });
      }
      const locks = await a.db.query("SELECT id FROM audit_events WHERE type = 'user.locked' AND user_id = ?", [user.id]);
      expect(locks).toHaveLength(1);
    });

    it('with the default threshold, concurrent attempts on both instances lock once and never count past the attempts in flight', async () => {
      const user = await createUser(a);
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => passwordLogin(instance(i), user, `wrong-${i}`)));
      for (const res of responses) expect(['Bad credentials', 'User is locked']).toContain(res.body.error_description);
      const counted = responses.filter((r) => r.body.error_description === 'Bad credentials').length;
      expect(counted).toBeGreaterThanOrEqual(5);
      expect(await userRow(user)).toEqual({ failed: counted, locked: true });
      expect(await a.db.query("SELECT id FROM audit_events WHERE type = 'user.locked' AND user_id = ?", [user.id])).toHaveLength(1);
    });
  });

  describe('admin changes racing logins', () => {
    it('a user updated through A while B counts their failed logins keeps every failure counted', async () => {
      await putPolicy(a, { lockout_threshold: 100 });
      const user = await createUser(a);
      const admin = await a.adminToken();
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 2 ? passwordLogin(b, user, `wrong-${i}`) : a.http.patch(`/admin/users/${user.id}`).auth(admin, { type: 'bearer' }).send({ name: `Name ${i}` }),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 20 }, (_, i) => (i % 2 ? 400 : 200)));
      // The admin update writes only what it changes: it does not write back the counter it read.
      expect(await userRow(user)).toEqual({ failed: 10, locked: false });
    });
  });

  describe('refresh rotation', () => {
    it('20 parallel refreshes of one token split over both instances: exactly one succeeds', async () => {
      const user = await createUser(a);
      const login = await passwordLogin(a, user, user.password, { scope: 'openid offline_access' });
      expect(login.status).toBe(200);
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => tokenRequest(instance(i), { grant_type: 'refresh_token', refresh_token: login.body.refresh_token }, basic())),
      );
      expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
      const failed = responses.filter((r) => r.status !== 200);
      expect(failed).toHaveLength(19);
      for (const res of failed) expect(res.body.error).toBe('invalid_grant');
      // One rotation: the presented token and the one new token, nothing else.
      const rows = await a.db.query(
        'SELECT r.rotated_at FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id WHERE f.user_id = ?',
        [user.id],
      );
      expect(rows).toHaveLength(2);
      expect(rows.filter((r: { rotated_at: unknown }) => r.rotated_at !== null)).toHaveLength(1);
    });
  });

  describe('authorization codes', () => {
    it('20 redemptions of one code split over both instances: one succeeds, and the replays on either instance end its tokens', async () => {
      const web = await createClient(a, { grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [CB], scope: 'openid offline_access' });
      const user = await createUser(a);
      // The login form rendered by A is submitted to B.
      const { form } = await openLoginPage(a, { response_type: 'code', client_id: web.client_id, redirect_uri: CB, scope: 'openid offline_access' });
      const login = await submitLogin(b, form, { username: user.username as string, password: user.password });
      expect(login.status).toBe(303);
      const code = new URL(login.headers.location).searchParams.get('code')!;
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => tokenRequest(instance(i), { grant_type: 'authorization_code', code, redirect_uri: CB }, { id: web.client_id, secret: web.client_secret! })),
      );
      const ok = responses.filter((r) => r.status === 200);
      expect(ok).toHaveLength(1);
      for (const res of responses.filter((r) => r.status !== 200)) {
        expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'Authorization code has already been used' });
      }
      const [family] = await a.db.query('SELECT revoked_reason FROM token_families WHERE user_id = ?', [user.id]);
      expect(family.revoked_reason).toBe('authorization_code_reuse');
      for (const t of [a, b]) expect((await t.http.get('/oauth2/userinfo').auth(ok[0].body.access_token, { type: 'bearer' })).status).toBe(401);
      const refresh = await tokenRequest(b, { grant_type: 'refresh_token', refresh_token: ok[0].body.refresh_token }, { id: web.client_id, secret: web.client_secret! });
      expect(refresh.body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has been revoked' });
    });
  });

  describe('signing keys', () => {
    const jwksOf = async (t: TestApp) => (await t.http.get('/oauth2/jwks')).body as JSONWebKeySet;

    it('B verifies tokens signed with the key A has just rotated to, and publishes it, even if it read its keys a moment before', async () => {
      const user = await createUser(a);
      // B reads its keys (a token with an unknown kid makes it look), and its clock is set back so
      // that this read stays "a moment ago" from B's point of view however long the rotation takes.
      const [, payload, signature] = (await passwordLogin(b, user)).body.access_token.split('.');
      const unknownKid = `${base64url.encode(JSON.stringify({ alg: 'RS256', kid: 'no-such-key', typ: 'at+jwt' }))}.${payload}.${signature}`;
      expect((await b.http.get('/oauth2/userinfo').auth(unknownKid, { type: 'bearer' })).status).toBe(401);
      b.clock.advance(-30_000);
      try {
        const rotated = await a.http.post('/admin/keys/rotate').auth(await a.adminToken(), { type: 'bearer' });
        expect(rotated.status).toBe(200);
        const login = await passwordLogin(a, user);
        expect(login.status).toBe(200);
        const kid = decodeProtectedHeader(login.body.access_token).kid;
        expect(rotated.body.kids).toContain(kid);

        const userinfo = await b.http.get('/oauth2/userinfo').auth(login.body.access_token, { type: 'bearer' });
        expect(userinfo.status).toBe(200);
        expect(userinfo.body.sub).toBe(user.id);
        const admin = await tokenRequest(a, { grant_type: 'client_credentials' }, { id: ADMIN_CLIENT_ID, secret: ADMIN_CLIENT_SECRET });
        expect(decodeProtectedHeader(admin.body.access_token).kid).toBe(kid);
        expect((await b.http.get('/admin/policy').auth(admin.body.access_token, { type: 'bearer' })).status).toBe(200);

        // A relying party that fetches the JWKS from B can verify A's new tokens.
        const published = await jwksOf(b);
        expect(published.keys.map((k) => k.kid)).toEqual(expect.arrayContaining(rotated.body.kids));
        await jwtVerify(login.body.id_token, createLocalJWKSet(published), { issuer: ISSUER, audience: client.client_id });
      } finally {
        b.clock.advance(30_000);
      }
    });
  });

  describe('per-IP login throttling (SPEC §3.3)', () => {
    it('counts the failed logins of one address on both instances together', async () => {
      const env = { LOGIN_RATE_LIMIT: '4', TRUSTED_PROXIES: '127.0.0.1' };
      const c = await startApp({ env });
      const d = await startApp({ database: c.database, env });
      try {
        d.clock.advance(c.clock.nowMs() - d.clock.nowMs());
        // A public client: its failed logins count per end-user address (SPEC §3.3).
        const pc = await createClient(c, { token_endpoint_auth_method: 'none', grant_types: ['password'] });
        const person = await createUser(c);
        const attempt = (t: TestApp, password: string) =>
          t.http
            .post('/oauth2/token')
            .set('X-Forwarded-For', '198.51.100.4')
            .type('form')
            .send({ grant_type: 'password', client_id: pc.client_id, username: person.username as string, password });
        const failures = await Promise.all([attempt(c, 'w1'), attempt(d, 'w2'), attempt(c, 'w3'), attempt(d, 'w4')]);
        expect(failures.map((r) => r.status)).toEqual([400, 400, 400, 400]);
        for (const t of [c, d]) expect((await attempt(t, person.password)).status).toBe(429);
      } finally {
        await d.close({ keepDatabase: true });
        await c.close();
      }
    });
  });

  describe('key rotation racing another instance', () => {
    it('leaves exactly one current key per algorithm when B reads the keys in the middle of A\'s rotation', async () => {
      const repo = a.db.getRepository(StoredKey);
      const insert = repo.insert.bind(repo);
      // The first statement of A's rotation that writes a new key: before it runs, B reads the keys
      // and signs a token.
      const spy = jest.spyOn(repo, 'insert').mockImplementationOnce(async (...args: Parameters<typeof repo.insert>) => {
        await b.http.get('/oauth2/jwks');
        expect((await tokenRequest(b, { grant_type: 'client_credentials' }, basic())).status).toBe(200);
        return insert(...args);
      });
      try {
        expect((await a.http.post('/admin/keys/rotate').auth(await a.adminToken(), { type: 'bearer' })).status).toBe(200);
      } finally {
        spy.mockRestore();
      }
      const current = await a.db.query("SELECT alg, COUNT(*) AS n FROM `keys` WHERE purpose = 'signing' AND retired_at IS NULL GROUP BY alg");
      expect(current.map((row: { alg: string; n: unknown }) => [row.alg, Number(row.n)]).sort()).toEqual([
        ['ES256', 1],
        ['EdDSA', 1],
        ['RS256', 1],
      ]);
    });
  });

  describe('changes made through one instance hold on the other at once', () => {
    it('revocation, session end, user disable and admin lock on A are enforced by B', async () => {
      const user = await createUser(a);
      const opaque = await passwordLogin(a, user, user.password, { scope: 'openid offline_access', token_format: 'opaque' });
      const jwt = await passwordLogin(a, user, user.password, { scope: 'openid' });
      for (const token of [opaque.body.access_token, jwt.body.access_token]) {
        expect((await b.http.get('/oauth2/userinfo').auth(token, { type: 'bearer' })).status).toBe(200);
      }

      // RFC 7009 on A: the refresh token's family ends, with its opaque access token; the JWT is listed as revoked.
      expect((await a.http.post('/oauth2/revoke').auth(client.client_id, client.client_secret!).type('form').send({ token: opaque.body.refresh_token })).status).toBe(200);
      expect((await a.http.post('/oauth2/revoke').auth(client.client_id, client.client_secret!).type('form').send({ token: jwt.body.access_token })).status).toBe(200);
      for (const token of [opaque.body.access_token, jwt.body.access_token]) {
        expect((await b.http.get('/oauth2/userinfo').auth(token, { type: 'bearer' })).status).toBe(401);
      }
      const refresh = await tokenRequest(b, { grant_type: 'refresh_token', refresh_token: opaque.body.refresh_token }, basic());
      expect(refresh.body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has been revoked' });

      // Admin lock on A: B refuses the correct password.
      expect((await a.http.post(`/admin/users/${user.id}/lock`).auth(await a.adminToken(), { type: 'bearer' })).status).toBe(200);
      expect((await passwordLogin(b, user)).body.error_code).toBe('USER_LOCKED');
      expect((await a.http.post(`/admin/users/${user.id}/unlock`).auth(await a.adminToken(), { type: 'bearer' })).status).toBe(200);
      expect((await passwordLogin(b, user)).status).toBe(200);
    });

    it('a client disabled on A can no longer authenticate on B, and its admin tokens stop working there', async () => {
      const other = await createClient(b, { grant_types: ['client_credentials'] });
      expect((await tokenRequest(b, { grant_type: 'client_credentials' }, { id: other.client_id, secret: other.client_secret! })).status).toBe(200);
      const disabled = await a.http.patch(`/admin/clients/${other.client_id}`).auth(await a.adminToken(), { type: 'bearer' }).send({ disabled: true });
      expect(disabled.status).toBe(200);
      const res = await tokenRequest(b, { grant_type: 'client_credentials' }, { id: other.client_id, secret: other.client_secret! });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'invalid_client', error_description: 'Bad client credentials' });
    });
  });
});

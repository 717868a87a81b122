import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { ISSUER, startApp, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { login } from '../support/login';

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');
const HOUR = 3600_000;

interface RefreshRow {
  family_id: string;
  client_id: string;
  scope: string;
  expires_at: string | number;
  rotated_at: string | number | null;
  grace_used_at: string | number | null;
}

interface FamilyRow {
  id: string;
  scope: string;
  auth_time: string | number;
  exchange_deadline: string | number;
  revoked_at: string | number | null;
  revoked_reason: string | null;
}

describe('Refresh-token grant (SPEC §3.5, §3.7, §3.8)', () => {
  let t: TestApp;
  let client: CreatedClient;
  let user: CreatedUser;

  const SCOPE = 'openid profile offline_access api:read api:write';

  beforeAll(async () => {
    t = await startApp();
    client = await createClient(t, {
      grant_types: ['password', 'refresh_token'],
      scope: `${SCOPE} email`,
      default_scope: SCOPE,
    });
    user = await createUser(t, { name: 'Ada Lovelace' });
  });
  afterAll(() => t.close());

  const basic = (c: CreatedClient = client) => ({ id: c.client_id, secret: c.client_secret! });
  const refresh = (form: Record<string, string>, c: CreatedClient = client) => tokenRequest(t, { grant_type: 'refresh_token', ...form }, basic(c));
  const admin = async () => ({ type: 'bearer' as const, token: await t.adminToken() });

  /**
   * Lifetimes bounded by the exchange deadline are counted from the real instant of the request, a
   * few milliseconds after the login: the value is the expected one, or at most a second less.
   */
  function expectAbout(seconds: number, expected: number) {
    expect(seconds).toBeLessThanOrEqual(expected);
    expect(seconds).toBeGreaterThanOrEqual(expected - 1);
  }

  async function refreshRow(token: string): Promise<RefreshRow> {
    const [row] = await t.db.query('SELECT * FROM refresh_tokens WHERE token_hash = ?', [sha256(token)]);
    return row;
  }

  async function familyOf(token: string): Promise<FamilyRow> {
    const [row] = await t.db.query(
      'SELECT f.* FROM token_families f JOIN refresh_tokens r ON r.family_id = f.id WHERE r.token_hash = ?',
      [sha256(token)],
    );
    return row;
  }

  async function introspect(token: string, c: CreatedClient = client) {
    const res = await t.http.post('/oauth2/introspect').auth(c.client_id, c.client_secret!).type('form').send({ token });
    expect(res.status).toBe(200);
    return res.body as { active: boolean };
  }

  async function setGraceSeconds(seconds: number) {
    const { token } = await admin();
    const current = await t.http.get('/admin/policy').auth(token, { type: 'bearer' });
    const res = await t.http.put('/admin/policy').auth(token, { type: 'bearer' }).send({ ...current.body, refresh_token_grace_seconds: seconds });
    expect(res.status).toBe(200);
  }

  async function auditEvents(type: string, userId = user.id) {
    const { token } = await admin();
    const res = await t.http.get('/admin/audit-events').query({ type, user: userId }).auth(token, { type: 'bearer' });
    expect(res.status).toBe(200);
    return res.body as { details: Record<string, unknown>; client_id: string }[];
  }

  describe('rotation', () => {
    it('returns a new access token, refresh token and id_token, and spends the presented refresh token', async () => {
      const first = await login(t, client, user);
      expect(first.refresh_token).toEqual(expect.any(String));
      const authTime = decodeJwt(first.id_token!).auth_time;
      t.clock.advance(60_000);

      const before = t.clock.nowMs();
      const res = await refresh({ refresh_token: first.refresh_token! });
      const after = t.clock.nowMs();
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.pragma).toBe('no-cache');
      expect(res.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 3600,
        scope: SCOPE,
        refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        refresh_expires_in: 30 * 24 * 3600,
        id_token: expect.any(String),
      });
      expect(res.body.refresh_token).not.toBe(first.refresh_token);
      expect(res.body.access_token).not.toBe(first.access_token);

      // Same family (sid), original authentication time and methods.
      const family = await familyOf(first.refresh_token!);
      const idToken = decodeJwt(res.body.id_token);
      expect(idToken).toMatchObject({ iss: ISSUER, sub: user.id, aud: client.client_id, sid: family.id, auth_time: authTime, amr: ['pwd'], name: 'Ada Lovelace' });
      expect(idToken.nonce).toBeUndefined();
      expect(idToken.at_hash).toEqual(expect.any(String));
      expect(decodeJwt(res.body.access_token)).toMatchObject({ sub: user.id, client_id: client.client_id, sid: family.id, auth_time: authTime, scope: SCOPE });

      // Stored only as hashes; the old token is spent, the new one belongs to the same family.
      const old = await refreshRow(first.refresh_token!);
      expect(Number(old.rotated_at)).toBeGreaterThanOrEqual(before);
      expect(Number(old.rotated_at)).toBeLessThanOrEqual(after);
      const next = await refreshRow(res.body.refresh_token);
      expect(next).toMatchObject({ family_id: family.id, client_id: client.client_id, scope: SCOPE, rotated_at: null, grace_used_at: null });
      const raw = await t.db.query('SELECT token_hash FROM refresh_tokens');
      expect(raw.map((r: { token_hash: string }) => r.token_hash)).not.toContain(res.body.refresh_token);
      expect(family.revoked_at).toBeNull();

      // The new token rotates in turn.
      const third = await refresh({ refresh_token: res.body.refresh_token });
      expect(third.status).toBe(200);
      expect((await familyOf(third.body.refresh_token)).id).toBe(family.id);

      // token.issued events are written in batches shortly after the response: wait for this one (nothing timed).
      let issued = await auditEvents('token.issued');
      for (let attempt = 0; attempt < 300 && issued[0]?.details.grant_type !== 'refresh_token'; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        issued = await auditEvents('token.issued');
      }
      expect(issued[0]).toMatchObject({ client_id: client.client_id, details: { grant_type: 'refresh_token', sid: family.id, refresh_token: true } });
      expect(JSON.stringify(issued)).not.toContain(third.body.refresh_token);
    });

    it('omits the id_token when openid is not in scope', async () => {
      const first = await login(t, client, user, { scope: 'offline_access api:read' });
      expect(first.id_token).toBeUndefined();
      const res = await refresh({ refresh_token: first.refresh_token! });
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe('offline_access api:read');
      expect(res.body.id_token).toBeUndefined();
      expect(res.body.refresh_token).toEqual(expect.any(String));
    });
  });

  describe('reuse detection', () => {
    it('ends the whole family when a spent token is presented again: the newest token dies too', async () => {
      const first = await login(t, client, user);
      const second = await refresh({ refresh_token: first.refresh_token! });
      expect(second.status).toBe(200);
      const third = await refresh({ refresh_token: second.body.refresh_token, token_format: 'opaque' });
      expect(third.status).toBe(200);

      const reused = await refresh({ refresh_token: first.refresh_token! });
      expect(reused.status).toBe(400);
      expect(reused.headers['cache-control']).toBe('no-store');
      expect(reused.body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has already been used' });

      const family = await familyOf(first.refresh_token!);
      expect(family.revoked_at).not.toBeNull();
      expect(family.revoked_reason).toBe('refresh_token_reuse');

      // The newest refresh token, and the access tokens of the family (JWT and opaque), are dead.
      const newest = await refresh({ refresh_token: third.body.refresh_token });
      expect(newest.status).toBe(400);
      expect(newest.body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has been revoked' });
      expect(await introspect(third.body.refresh_token)).toEqual({ active: false });
      expect(await introspect(second.body.access_token)).toEqual({ active: false });
      expect(await introspect(third.body.access_token)).toEqual({ active: false });

      const ended = await auditEvents('token.family_ended');
      expect(ended[0]).toMatchObject({ client_id: client.client_id, details: { sid: family.id, reason: 'refresh_token_reuse' } });
    });

    it('20 parallel refreshes with one token: exactly one succeeds (one atomic UPDATE decides)', async () => {
      const first = await login(t, client, user);
      const results = await Promise.all(Array.from({ length: 20 }, () => refresh({ refresh_token: first.refresh_token! })));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 400)).toHaveLength(19);
      for (const res of results.filter((r) => r.status === 400)) expect(res.body.error).toBe('invalid_grant');

      // The other 19 are, to the server, a replay of a spent token: the family ends (grace 0).
      const family = await familyOf(first.refresh_token!);
      expect(family.revoked_reason).toBe('refresh_token_reuse');
      const rows = await t.db.query('SELECT rotated_at FROM refresh_tokens WHERE family_id = ?', [family.id]);
      expect(rows).toHaveLength(2);
    });
  });

  describe('grace period (policy refresh_token_grace_seconds)', () => {
    beforeAll(() => setGraceSeconds(30));
    afterAll(() => setGraceSeconds(0));

    it('lets a client that lost the response retry once within the window; the family continues', async () => {
      const first = await login(t, client, user);
      const lost = await refresh({ refresh_token: first.refresh_token! });
      expect(lost.status).toBe(200);
      t.clock.advance(20_000);

      const retry = await refresh({ refresh_token: first.refresh_token! });
      expect(retry.status).toBe(200);
      expect(retry.body.refresh_token).not.toBe(lost.body.refresh_token);
      const family = await familyOf(first.refresh_token!);
      expect(family.revoked_at).toBeNull();
      expect((await refreshRow(first.refresh_token!)).grace_used_at).not.toBeNull();

      const next = await refresh({ refresh_token: retry.body.refresh_token });
      expect(next.status).toBe(200);

      // Only once: a second retry is reuse and ends the family.
      const again = await refresh({ refresh_token: first.refresh_token! });
      expect(again.status).toBe(400);
      expect(again.body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has already been used' });
      expect((await familyOf(first.refresh_token!)).revoked_reason).toBe('refresh_token_reuse');
      expect((await refresh({ refresh_token: next.body.refresh_token })).status).toBe(400);
    });

    it('past the window the retry counts as reuse', async () => {
      const first = await login(t, client, user);
      const second = await refresh({ refresh_token: first.refresh_token! });
      expect(second.status).toBe(200);
      t.clock.advance(31_000);

      const late = await refresh({ refresh_token: first.refresh_token! });
      expect(late.status).toBe(400);
      expect(late.body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has already been used' });
      expect((await familyOf(first.refresh_token!)).revoked_reason).toBe('refresh_token_reuse');
      expect((await refresh({ refresh_token: second.body.refresh_token })).status).toBe(400);
    });

    it('20 parallel refreshes with one token: one rotation and one grace retry succeed, no more', async () => {
      const first = await login(t, client, user);
      const results = await Promise.all(Array.from({ length: 20 }, () => refresh({ refresh_token: first.refresh_token! })));
      expect(results.filter((r) => r.status === 200)).toHaveLength(2);
      expect(results.filter((r) => r.status === 400 && r.body.error === 'invalid_grant')).toHaveLength(18);
    });
  });

  describe('max_exchange_period (SPEC §3.7)', () => {
    let shortClient: CreatedClient;
    beforeAll(async () => {
      shortClient = await createClient(t, { grant_types: ['password', 'refresh_token'], scope: SCOPE, default_scope: SCOPE, max_exchange_period_hours: 48 });
    });

    it('a smaller value overrides the client policy and sticks to the family; a bigger one is ignored', async () => {
      const first = await login(t, shortClient, user);
      const family = await familyOf(first.refresh_token!);
      const authTime = Number(family.auth_time);
      expect(Number(family.exchange_deadline)).toBe(authTime + 48 * HOUR);
      expectAbout(first.refresh_expires_in!, 48 * 3600);

      const shortened = await refresh({ refresh_token: first.refresh_token!, max_exchange_period: '10' }, shortClient);
      expect(shortened.status).toBe(200);
      expect(Number((await familyOf(first.refresh_token!)).exchange_deadline)).toBe(authTime + 10 * HOUR);
      expectAbout(shortened.body.refresh_expires_in, 10 * 3600);

      const bigger = await refresh({ refresh_token: shortened.body.refresh_token, max_exchange_period: '20' }, shortClient);
      expect(bigger.status).toBe(200);
      expect(Number((await familyOf(first.refresh_token!)).exchange_deadline)).toBe(authTime + 10 * HOUR);

      t.clock.advance(9.5 * HOUR);
      const late = await refresh({ refresh_token: bigger.body.refresh_token }, shortClient);
      expect(late.status).toBe(200);
      // The refresh token never outlives the exchange period.
      expectAbout(late.body.refresh_expires_in, 30 * 60);

      t.clock.advance(HOUR);
      const exceeded = await refresh({ refresh_token: late.body.refresh_token }, shortClient);
      expect(exceeded.status).toBe(400);
      expect(exceeded.body).toEqual({ error: 'invalid_grant', error_description: 'Maximum exchange period exceeded' });
      const ended = await familyOf(first.refresh_token!);
      expect(ended.revoked_at).not.toBeNull();
      expect(ended.revoked_reason).toBe('exchange_period_exceeded');
    });

    it('a max_exchange_period given at login is carried to every refresh', async () => {
      const first = await login(t, shortClient, user, { max_exchange_period: '1' });
      expectAbout(first.refresh_expires_in!, 3600);
      t.clock.advance(30 * 60_000);
      const second = await refresh({ refresh_token: first.refresh_token! }, shortClient);
      expect(second.status).toBe(200);
      expectAbout(second.body.refresh_expires_in, 1800);
      t.clock.advance(31 * 60_000);
      const exceeded = await refresh({ refresh_token: second.body.refresh_token }, shortClient);
      expect(exceeded.body).toEqual({ error: 'invalid_grant', error_description: 'Maximum exchange period exceeded' });
    });

    it('a value already exceeded since the original login ends the family at once', async () => {
      const first = await login(t, shortClient, user);
      t.clock.advance(2 * HOUR);
      const res = await refresh({ refresh_token: first.refresh_token!, max_exchange_period: '1' }, shortClient);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'Maximum exchange period exceeded' });
      expect((await familyOf(first.refresh_token!)).revoked_reason).toBe('exchange_period_exceeded');
    });

    it.each(['0', '4321', '1.5', 'abc', '-1'])('max_exchange_period=%s is invalid_request and spends nothing', async (value) => {
      const first = await login(t, shortClient, user);
      const res = await refresh({ refresh_token: first.refresh_token!, max_exchange_period: value }, shortClient);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: 'max_exchange_period must be a whole number of hours between 1 and 4320' });
      expect((await refreshRow(first.refresh_token!)).rotated_at).toBeNull();
    });
  });

  describe('refresh_expiry, token_format, app_tid (SPEC §3.7)', () => {
    it('refresh_expiry shortens the new refresh token, and it expires', async () => {
      const first = await login(t, client, user);
      const res = await refresh({ refresh_token: first.refresh_token!, refresh_expiry: '600' });
      expect(res.status).toBe(200);
      expect(res.body.refresh_expires_in).toBe(600);
      const row = await refreshRow(res.body.refresh_token);
      expect(Number(row.expires_at) - t.clock.nowMs()).toBeLessThanOrEqual(600_000);
      expect(Number(row.expires_at) - t.clock.nowMs()).toBeGreaterThan(590_000);

      t.clock.advance(601_000);
      const expired = await refresh({ refresh_token: res.body.refresh_token });
      expect(expired.status).toBe(400);
      expect(expired.body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has expired' });
      expect(await introspect(res.body.refresh_token)).toEqual({ active: false });
    });

    it('refresh_expiry never lengthens the client refresh_token_ttl', async () => {
      const first = await login(t, client, user);
      const res = await refresh({ refresh_token: first.refresh_token!, refresh_expiry: String(365 * 24 * 3600) });
      expect(res.status).toBe(200);
      expect(res.body.refresh_expires_in).toBe(30 * 24 * 3600);
    });

    it('refresh_expiry=0 returns no refresh token (and the presented one is spent)', async () => {
      const first = await login(t, client, user);
      const res = await refresh({ refresh_token: first.refresh_token!, refresh_expiry: '0' });
      expect(res.status).toBe(200);
      expect(res.body.access_token).toEqual(expect.any(String));
      expect(res.body.refresh_token).toBeUndefined();
      expect(res.body.refresh_expires_in).toBeUndefined();
      expect((await refreshRow(first.refresh_token!)).rotated_at).not.toBeNull();
    });

    it('refresh_expiry that is not a whole number is invalid_request', async () => {
      const first = await login(t, client, user);
      const res = await refresh({ refresh_token: first.refresh_token!, refresh_expiry: '-5' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: 'refresh_expiry must be a whole number of seconds' });
    });

    it('token_format picks an opaque or JWT access token per request, else the client default', async () => {
      const first = await login(t, client, user);
      const opaque = await refresh({ refresh_token: first.refresh_token!, token_format: 'opaque' });
      expect(opaque.status).toBe(200);
      expect(opaque.body.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const family = await familyOf(first.refresh_token!);
      const [stored] = await t.db.query('SELECT family_id, user_id, scope FROM access_tokens WHERE token_hash = ?', [sha256(opaque.body.access_token)]);
      expect(stored).toEqual({ family_id: family.id, user_id: user.id, scope: SCOPE });

      const jwt = await refresh({ refresh_token: opaque.body.refresh_token });
      expect(decodeJwt(jwt.body.access_token).sid).toBe(family.id);

      const opaqueClient = await createClient(t, { grant_types: ['password', 'refresh_token'], scope: SCOPE, default_scope: SCOPE, access_token_format: 'opaque' });
      const viaClient = await login(t, opaqueClient, user);
      const byDefault = await refresh({ refresh_token: viaClient.refresh_token! }, opaqueClient);
      expect(byDefault.body.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const overridden = await refresh({ refresh_token: byDefault.body.refresh_token, token_format: 'jwt' }, opaqueClient);
      expect(overridden.body.access_token.split('.')).toHaveLength(3);

      const bad = await refresh({ refresh_token: overridden.body.refresh_token, token_format: 'saml' }, opaqueClient);
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({ error: 'invalid_request', error_description: 'token_format must be "opaque" or "jwt"' });
      expect((await refreshRow(overridden.body.refresh_token)).rotated_at).toBeNull();
    });

    it.each([
      ['token_format=bogus', { token_format: 'bogus' }, 'token_format must be "opaque" or "jwt"'],
      ['max_exchange_period=0', { max_exchange_period: '0' }, 'max_exchange_period must be a whole number of hours between 1 and 4320'],
      ['refresh_expiry=1.5', { refresh_expiry: '1.5' }, 'refresh_expiry must be a whole number of seconds'],
    ])('refuses %s before rotating: the same refresh token then refreshes, and its family lives on', async (_name, bad, description) => {
      const first = await login(t, client, user);
      const refused = await refresh({ refresh_token: first.refresh_token!, ...bad });
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({ error: 'invalid_request', error_description: description });
      expect((await refreshRow(first.refresh_token!)).rotated_at).toBeNull();

      const retried = await refresh({ refresh_token: first.refresh_token!, token_format: 'opaque', max_exchange_period: '1' });
      expect(retried.status).toBe(200);
      expect(retried.body.refresh_token).toEqual(expect.any(String));
      expect((await familyOf(retried.body.refresh_token)).revoked_at).toBeNull();
      expect(await introspect(retried.body.refresh_token)).toMatchObject({ active: true });
    });

    it('accepts and ignores app_tid', async () => {
      const first = await login(t, client, user);
      const res = await refresh({ refresh_token: first.refresh_token!, app_tid: 'd3d1a3b2-tenant' });
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe(SCOPE);
    });
  });

  describe('scope', () => {
    it('narrows the access token to a subset; the new refresh token keeps the original scope (RFC 6749 §6)', async () => {
      const first = await login(t, client, user);
      const narrow = await refresh({ refresh_token: first.refresh_token!, scope: 'api:read' });
      expect(narrow.status).toBe(200);
      expect(narrow.body.scope).toBe('api:read');
      expect(narrow.body.id_token).toBeUndefined();
      expect(decodeJwt(narrow.body.access_token).scope).toBe('api:read');
      expect((await refreshRow(narrow.body.refresh_token)).scope).toBe(SCOPE);

      const full = await refresh({ refresh_token: narrow.body.refresh_token });
      expect(full.status).toBe(200);
      expect(full.body.scope).toBe(SCOPE);
      expect(full.body.id_token).toEqual(expect.any(String));
    });

    it('refuses widening with invalid_scope, and spends nothing', async () => {
      const first = await login(t, client, user, { scope: 'openid offline_access api:read' });
      const res = await refresh({ refresh_token: first.refresh_token!, scope: 'api:read email api:write' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_scope', error_description: 'Scope not granted to the refresh token: email api:write' });
      expect((await refreshRow(first.refresh_token!)).rotated_at).toBeNull();

      const malformed = await refresh({ refresh_token: first.refresh_token!, scope: 'api:read "x"' });
      expect(malformed.status).toBe(400);
      expect(malformed.body).toEqual({ error: 'invalid_scope', error_description: 'The scope parameter is malformed' });
      expect((await refresh({ refresh_token: first.refresh_token! })).status).toBe(200);
    });
  });

  it('drops scopes an administrator has since removed from the client', async () => {
    const shrinking = await createClient(t, { grant_types: ['password', 'refresh_token'], scope: SCOPE, default_scope: SCOPE });
    const first = await login(t, shrinking, user);
    const patched = await t.http
      .patch(`/admin/clients/${shrinking.client_id}`)
      .auth(await t.adminToken(), { type: 'bearer' })
      .send({ scope: 'openid offline_access api:read', default_scope: 'openid offline_access api:read' });
    expect(patched.status).toBe(200);
    const res = await refresh({ refresh_token: first.refresh_token! }, shrinking);
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('openid offline_access api:read');
    expect((await refreshRow(res.body.refresh_token)).scope).toBe('openid offline_access api:read');
  });

  describe('binding and request errors', () => {
    it('binds the refresh token to its client: another client gets invalid_grant and nothing changes', async () => {
      const other = await createClient(t, { grant_types: ['password', 'refresh_token'], scope: SCOPE, default_scope: SCOPE });
      const first = await login(t, client, user);
      const res = await refresh({ refresh_token: first.refresh_token! }, other);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'Invalid refresh token' });
      expect((await refreshRow(first.refresh_token!)).rotated_at).toBeNull();
      expect((await familyOf(first.refresh_token!)).revoked_at).toBeNull();
      expect((await refresh({ refresh_token: first.refresh_token! })).status).toBe(200);
    });

    it('refuses an unknown token, a missing token, and a client without the refresh_token grant', async () => {
      const unknown = await refresh({ refresh_token: 'x'.repeat(43) });
      expect(unknown.status).toBe(400);
      expect(unknown.body).toEqual({ error: 'invalid_grant', error_description: 'Invalid refresh token' });

      const huge = await refresh({ refresh_token: 'x'.repeat(20_000) });
      expect(huge.status).toBe(400);
      expect(huge.body).toEqual({ error: 'invalid_grant', error_description: 'Invalid refresh token' });

      const missing = await refresh({});
      expect(missing.status).toBe(400);
      expect(missing.body).toEqual({ error: 'invalid_request', error_description: 'refresh_token is required' });

      const noGrant = await createClient(t, { grant_types: ['client_credentials'] });
      const refused = await refresh({ refresh_token: 'x'.repeat(43) }, noGrant);
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({ error: 'unauthorized_client', error_description: 'The client is not allowed to use the refresh_token grant' });
    });

    it('a public client refreshes with its client_id alone', async () => {
      const pub = await createClient(t, { token_endpoint_auth_method: 'none', grant_types: ['password', 'refresh_token'], scope: SCOPE, default_scope: SCOPE });
      const first = await login(t, pub, user);
      const res = await tokenRequest(t, { grant_type: 'refresh_token', client_id: pub.client_id, refresh_token: first.refresh_token! });
      expect(res.status).toBe(200);
      expect(res.body.refresh_token).toEqual(expect.any(String));
    });
  });

  describe('user state (SPEC §3.5: disabled or locked users cannot refresh)', () => {
    it('a user locked by failed logins cannot refresh; the token survives the lock and works after unlock', async () => {
      const locked = await createUser(t);
      const first = await login(t, client, locked);
      const { token } = await admin();
      // Five wrong passwords (the default threshold). An admin lock would end the session instead.
      for (let i = 0; i < 5; i++) {
        const wrong = await tokenRequest(t, { grant_type: 'password', username: locked.username as string, password: 'wrong' }, { id: client.client_id, secret: client.client_secret! });
        expect(wrong.body.error_description).toBe('Bad credentials');
      }

      const res = await refresh({ refresh_token: first.refresh_token! });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'User is locked', error_code: 'USER_LOCKED' });
      expect((await refreshRow(first.refresh_token!)).rotated_at).toBeNull();

      expect((await t.http.post(`/admin/users/${locked.id}/unlock`).auth(token, { type: 'bearer' })).status).toBe(200);
      expect((await refresh({ refresh_token: first.refresh_token! })).status).toBe(200);
    });

    it('an admin lock ends their families at once', async () => {
      const locked = await createUser(t);
      const first = await login(t, client, locked);
      const { token } = await admin();
      expect((await t.http.post(`/admin/users/${locked.id}/lock`).auth(token, { type: 'bearer' })).status).toBe(200);
      expect((await refresh({ refresh_token: first.refresh_token! })).body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has been revoked' });
      expect((await t.http.post(`/admin/users/${locked.id}/unlock`).auth(token, { type: 'bearer' })).status).toBe(200);
      expect((await refresh({ refresh_token: first.refresh_token! })).status).toBe(400);
    });

    it('disabling a user ends their families at once', async () => {
      const disabled = await createUser(t);
      const first = await login(t, client, disabled);
      const { token } = await admin();
      const patched = await t.http.patch(`/admin/users/${disabled.id}`).auth(token, { type: 'bearer' }).send({ disabled: true });
      expect(patched.status).toBe(200);

      const family = await familyOf(first.refresh_token!);
      expect(family.revoked_reason).toBe('user_disabled');
      const res = await refresh({ refresh_token: first.refresh_token! });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has been revoked' });
      expect(await introspect(first.access_token)).toEqual({ active: false });
    });

    it('a disabled user is refused even if a family escaped revocation (e.g. disabled in the same instant)', async () => {
      const disabled = await createUser(t);
      const first = await login(t, client, disabled);
      // Simulates the race the grant guards against: the flag is set but the family is still active.
      await t.db.query('UPDATE users SET disabled = ? WHERE id = ?', [true, disabled.id]);
      const res = await refresh({ refresh_token: first.refresh_token! });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'User is disabled', error_code: 'USER_DISABLED' });
    });

    it('a deleted user cannot refresh', async () => {
      const deleted = await createUser(t);
      const first = await login(t, client, deleted);
      const { token } = await admin();
      expect((await t.http.delete(`/admin/users/${deleted.id}`).auth(token, { type: 'bearer' })).status).toBe(204);
      const res = await refresh({ refresh_token: first.refresh_token! });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_grant');
      expect((await familyOf(first.refresh_token!)).revoked_at).not.toBeNull();
    });
  });
});

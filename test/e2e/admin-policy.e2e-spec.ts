import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { ADMIN_CLIENT_ID, ISSUER, startApp, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, unique } from '../support/fixtures';

/** Admin API: policy (SPEC §6), audit events, and signing-key rotation (§3.8). */
describe('Admin API: policy, audit events and key rotation', () => {
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await startApp();
    admin = await t.adminToken();
  });
  afterAll(() => t.close());

  const DEFAULTS = {
    lockout_threshold: 5,
    lockout_duration_seconds: 900,
    password_max_age_days: 0,
    initial_password_ttl_hours: 72,
    refresh_token_grace_seconds: 0,
    client_lockout_threshold: 0,
    client_lockout_duration_seconds: 3600,
    sso_session_idle_seconds: 1800,
    sso_session_max_seconds: 36000,
  };
  const getPolicy = () => t.http.get('/admin/policy').auth(admin, { type: 'bearer' });
  const putPolicy = (body: unknown) => t.http.put('/admin/policy').auth(admin, { type: 'bearer' }).send(body as object);
  const audit = (query: string) => t.http.get(`/admin/audit-events${query}`).auth(admin, { type: 'bearer' });

  describe('policy', () => {
    afterAll(async () => {
      await putPolicy(DEFAULTS);
    });

    it('has the documented defaults', async () => {
      const res = await getPolicy();
      expect(res.status).toBe(200);
      expect(res.body).toEqual(DEFAULTS);
    });

    it('replaces the policy with PUT, returns and stores it', async () => {
      const next = {
        lockout_threshold: 3,
        lockout_duration_seconds: 0,
        password_max_age_days: 90,
        initial_password_ttl_hours: 24,
        refresh_token_grace_seconds: 30,
        client_lockout_threshold: 5,
        client_lockout_duration_seconds: 600,
        sso_session_idle_seconds: 600,
        sso_session_max_seconds: 7200,
      };
      const res = await putPolicy(next);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(next);
      expect((await getPolicy()).body).toEqual(next);
      const [row] = await t.db.query('SELECT * FROM policy');
      expect(Number(row.id)).toBe(1);
      expect(Number(row.lockout_threshold)).toBe(3);
      expect(Number(row.password_max_age_days)).toBe(90);
      expect(Number(row.refresh_token_grace_seconds)).toBe(30);
      expect(Number(row.sso_session_idle_seconds)).toBe(600);
      expect(Number(row.sso_session_max_seconds)).toBe(7200);
      expect(await t.db.query('SELECT id FROM policy')).toHaveLength(1);
    });

    it('keeps the single sign-on lifetimes when a PUT leaves them out (bodies written before they existed)', async () => {
      const { sso_session_idle_seconds: _idle, sso_session_max_seconds: _max, ...older } = DEFAULTS;
      expect((await putPolicy({ ...DEFAULTS, sso_session_idle_seconds: 900 })).status).toBe(200);
      const res = await putPolicy({ ...older, lockout_threshold: 6 });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ...DEFAULTS, lockout_threshold: 6, sso_session_idle_seconds: 900 });
      expect((await putPolicy(DEFAULTS)).body).toEqual(DEFAULTS);
    });

    it('needs every other field: a partial body is refused, naming the missing fields', async () => {
      const before = (await getPolicy()).body;
      const res = await putPolicy({ lockout_threshold: 4 });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('Validation failed');
      expect(Object.keys(res.body.fields).sort()).toEqual([
        'initial_password_ttl_hours',
        'lockout_duration_seconds',
        'password_max_age_days',
        'refresh_token_grace_seconds',
      ]);
      expect((await getPolicy()).body).toEqual(before);
    });

    it.each([
      ['lockout_threshold', { lockout_threshold: 0 }],
      ['lockout_threshold', { lockout_threshold: 101 }],
      ['lockout_threshold', { lockout_threshold: '5' }],
      ['lockout_threshold', { lockout_threshold: 2.5 }],
      ['lockout_threshold', { lockout_threshold: null }],
      ['lockout_duration_seconds', { lockout_duration_seconds: -1 }],
      ['password_max_age_days', { password_max_age_days: 3651 }],
      ['initial_password_ttl_hours', { initial_password_ttl_hours: 0 }],
      ['refresh_token_grace_seconds', { refresh_token_grace_seconds: 301 }],
      ['refresh_token_grace_seconds', { refresh_token_grace_seconds: true }],
      ['sso_session_idle_seconds', { sso_session_idle_seconds: 0 }],
      ['sso_session_max_seconds', { sso_session_max_seconds: 31536001 }],
      ['lockout_mode', { lockout_mode: 'strict' }],
      ['client_lockout_threshold', { client_lockout_threshold: -1 }],
      ['client_lockout_threshold', { client_lockout_threshold: 1001 }],
      ['client_lockout_threshold', { client_lockout_threshold: '5' }],
      ['client_lockout_duration_seconds', { client_lockout_duration_seconds: 31536001 }],
    ])('names %s for %j and changes nothing', async (field, change) => {
      const before = (await getPolicy()).body;
      const res = await putPolicy({ ...DEFAULTS, ...change });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.fields)).toEqual([field]);
      expect((await getPolicy()).body).toEqual(before);
    });

    it('refuses a body that is not a JSON object', async () => {
      for (const body of ['[]', '"policy"', '{"lockout_threshold":']) {
        const res = await t.http.put('/admin/policy').auth(admin, { type: 'bearer' }).set('Content-Type', 'application/json').send(body);
        expect(res.status).toBe(400);
      }
    });

    it('requires an admin token', async () => {
      expect((await t.http.get('/admin/policy')).status).toBe(401);
      const res = await t.http.put('/admin/policy').send(DEFAULTS);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
    });
  });

  describe('audit events', () => {
    it('records admin changes, filtered by type and client, newest first, without secrets', async () => {
      const clientId = unique('audited');
      const secret = 'an-audited-client-secret-of-32-chars!!';
      const created = await createClient(t, { client_id: clientId, client_secret: secret });
      await t.http.patch(`/admin/clients/${clientId}`).auth(admin, { type: 'bearer' }).send({ client_name: 'renamed' });
      const rotated = await t.http.post(`/admin/clients/${clientId}/secret`).auth(admin, { type: 'bearer' });
      const token = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: clientId, secret: rotated.body.client_secret });
      expect(token.status).toBe(200);

      // token.issued events are written in batches, shortly after the response: wait for it (no timing asserted).
      for (let attempt = 0; attempt < 300 && (await audit(`?client=${clientId}&type=token.issued`)).body.length === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const forClient = await audit(`?client=${clientId}`);
      expect(forClient.status).toBe(200);
      expect(forClient.body.map((e: { type: string }) => e.type)).toEqual([
        'token.issued',
        'admin.client.secret_rotated',
        'admin.client.updated',
        'admin.client.created',
      ]);
      for (const event of forClient.body) {
        expect(event).toEqual({
          id: expect.any(String),
          type: expect.any(String),
          user_id: null,
          client_id: clientId,
          ip: event.type === 'token.issued' ? expect.any(String) : null,
          details: expect.any(Object),
          created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        });
      }
      expect(forClient.body[2].details).toEqual({ by: ADMIN_CLIENT_ID, fields: ['client_name'] });

      const rotations = await audit(`?type=admin.client.secret_rotated&client=${clientId}`);
      expect(rotations.body).toHaveLength(1);
      expect(rotations.body[0]).toMatchObject({ type: 'admin.client.secret_rotated', client_id: clientId, details: { by: ADMIN_CLIENT_ID } });

      const everything = JSON.stringify((await audit('?limit=1000')).body);
      for (const value of [secret, created.client_secret!, rotated.body.client_secret, token.body.access_token]) expect(everything).not.toContain(value);
      const stored = JSON.stringify(await t.db.query('SELECT * FROM audit_events'));
      for (const value of [secret, rotated.body.client_secret, token.body.access_token]) expect(stored).not.toContain(value);
    });

    it('records user and policy changes without passwords', async () => {
      const password = 'an audited user password';
      const user = await createUser(t, { password });
      await t.http.patch(`/admin/users/${user.id}`).auth(admin, { type: 'bearer' }).send({ name: 'Audited' });
      await putPolicy({ ...DEFAULTS, lockout_threshold: 7 });
      await putPolicy(DEFAULTS);

      const forUser = await audit(`?user=${user.id}`);
      expect(forUser.body.map((e: { type: string }) => e.type)).toEqual(['admin.user.updated', 'admin.user.created']);
      expect(forUser.body[0]).toMatchObject({ user_id: user.id, client_id: ADMIN_CLIENT_ID, details: { fields: ['name'] } });

      const policy = await audit('?type=admin.policy.updated&limit=2');
      expect(policy.body).toHaveLength(2);
      expect(policy.body[1]).toMatchObject({ type: 'admin.policy.updated', client_id: ADMIN_CLIENT_ID, details: { ...DEFAULTS, lockout_threshold: 7 } });
      expect(JSON.stringify(await t.db.query('SELECT * FROM audit_events'))).not.toContain(password);
    });

    it('returns an empty list for filters that match nothing, and validates the query', async () => {
      expect((await audit('?type=no.such.type')).body).toEqual([]);
      expect((await audit(`?client=${encodeURIComponent("x' OR '1'='1")}`)).body).toEqual([]);
      const bad = await audit('?limit=0&since=yesterday');
      expect(bad.status).toBe(400);
      expect(Object.keys(bad.body.fields).sort()).toEqual(['limit', 'since']);
    });

    it('requires an admin token', async () => {
      const res = await t.http.get('/admin/audit-events');
      expect(res.status).toBe(401);
    });
  });

  describe('key rotation', () => {
    const jwks = async () => {
      const res = await t.http.get('/oauth2/jwks');
      expect(res.status).toBe(200);
      return res.body as JSONWebKeySet;
    };
    const kids = (set: JSONWebKeySet) => set.keys.map((k) => k.kid!).sort();
    const issue = async (clientId: string, secret: string) => {
      const res = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: clientId, secret });
      expect(res.status).toBe(200);
      return res.body.access_token as string;
    };

    it('publishes a new key, keeps the old one until its tokens have expired, and signs with the new one', async () => {
      const client = await createClient(t, { scope: 'api', default_scope: 'api' });
      const before = await jwks();
      expect(before.keys).toHaveLength(3);
      const oldToken = await issue(client.client_id, client.client_secret!);
      const oldKid = decodeProtectedHeader(oldToken).kid!;
      expect(kids(before)).toContain(oldKid);
      const oldAdmin = admin;

      const res = await t.http.post('/admin/keys/rotate').auth(admin, { type: 'bearer' });
      expect(res.status).toBe(200);
      expect(res.body.kids).toHaveLength(3);
      for (const kid of res.body.kids) expect(kids(before)).not.toContain(kid);

      const after = await jwks();
      expect(kids(after)).toEqual([...kids(before), ...res.body.kids].sort());
      for (const key of after.keys) {
        expect(key.d).toBeUndefined();
        expect(key.use).toBe('sig');
      }

      // Tokens signed by the old key still verify against the published JWKS, and are still accepted.
      const verified = await jwtVerify(oldToken, createLocalJWKSet(after), { issuer: ISSUER, audience: client.client_id });
      expect(verified.protectedHeader.kid).toBe(oldKid);
      expect((await t.http.get('/admin/policy').auth(oldAdmin, { type: 'bearer' })).status).toBe(200);

      // Until every instance can have published the new keys (CACHE_TTL_SECONDS, 5 s here), new
      // tokens are still signed with the old key; then with the new RS256 key.
      expect(decodeProtectedHeader(await issue(client.client_id, client.client_secret!)).kid).toBe(oldKid);
      t.clock.advance(5_000);
      const newToken = await issue(client.client_id, client.client_secret!);
      const newKid = decodeProtectedHeader(newToken).kid!;
      expect(newKid).not.toBe(oldKid);
      expect(res.body.kids).toContain(newKid);
      expect(after.keys.find((k) => k.kid === newKid)!.alg).toBe('RS256');
      await jwtVerify(newToken, createLocalJWKSet(after), { issuer: ISSUER, audience: client.client_id });

      // The database holds both generations; the old ones are retired with a publication deadline.
      const rows = await t.db.query("SELECT kid, retired_at, expires_at FROM `keys` WHERE purpose = 'signing'");
      expect(rows).toHaveLength(6);
      const old = rows.filter((r: { kid: string }) => kids(before).includes(r.kid));
      for (const row of old) {
        expect(row.retired_at).not.toBeNull();
        expect(Number(row.expires_at) - Number(row.retired_at)).toBeGreaterThanOrEqual(24 * 3600 * 1000);
      }
      for (const row of rows.filter((r: { kid: string }) => res.body.kids.includes(r.kid))) expect(row.retired_at).toBeNull();

      const events = await audit('?type=admin.keys.rotated');
      expect(events.body[0]).toMatchObject({ client_id: ADMIN_CLIENT_ID, details: { kids: res.body.kids } });

      // Once every token the old key signed has expired, the old key leaves the JWKS.
      t.clock.advance((24 * 3600 + 301) * 1000);
      admin = await t.adminToken();
      expect(kids(await jwks())).toEqual([...res.body.kids].sort());
      const stillNew = await issue(client.client_id, client.client_secret!);
      expect(decodeProtectedHeader(stillNew).kid).toBe(newKid);
    });

    it('requires an admin token', async () => {
      const before = await jwks();
      const res = await t.http.post('/admin/keys/rotate');
      expect(res.status).toBe(401);
      expect(kids(await jwks())).toEqual(kids(before));
    });
  });
});

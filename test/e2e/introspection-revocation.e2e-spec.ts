import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, ISSUER, startApp, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, unique, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { login } from '../support/login';

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');
const SCOPE = 'openid profile offline_access api:read';

describe('Introspection (RFC 7662), revocation (RFC 7009) and session ends (SPEC §4, §6)', () => {
  let t: TestApp;
  let client: CreatedClient;
  let other: CreatedClient;
  let user: CreatedUser;

  beforeAll(async () => {
    t = await startApp();
    const body = { grant_types: ['password', 'refresh_token', 'client_credentials'], scope: SCOPE, default_scope: SCOPE };
    client = await createClient(t, body);
    other = await createClient(t, { ...body, token_endpoint_auth_method: 'client_secret_post' });
    user = await createUser(t, { username: `ada-${Date.now()}` });
  });
  afterAll(() => t.close());

  function introspect(form: Record<string, string>, c: CreatedClient = client) {
    const req = t.http.post('/oauth2/introspect').type('form');
    if (c.token_endpoint_auth_method === 'client_secret_post') return req.send({ client_id: c.client_id, client_secret: c.client_secret!, ...form });
    return req.auth(c.client_id, c.client_secret!).send(form);
  }

  function revoke(form: Record<string, string>, c: CreatedClient = client) {
    const req = t.http.post('/oauth2/revoke').type('form');
    if (c.token_endpoint_auth_method === 'client_secret_post') return req.send({ client_id: c.client_id, client_secret: c.client_secret!, ...form });
    return req.auth(c.client_id, c.client_secret!).send(form);
  }

  async function active(token: string, c: CreatedClient = client): Promise<boolean> {
    const res = await introspect({ token }, c);
    expect(res.status).toBe(200);
    return res.body.active as boolean;
  }

  async function familyOfRefresh(token: string) {
    const [row] = await t.db.query(
      'SELECT f.id, f.revoked_at, f.revoked_reason FROM token_families f JOIN refresh_tokens r ON r.family_id = f.id WHERE r.token_hash = ?',
      [sha256(token)],
    );
    return row as { id: string; revoked_at: string | number | null; revoked_reason: string | null };
  }

  async function audit(type: string) {
    const res = await t.http.get('/admin/audit-events').query({ type }).auth(await t.adminToken(), { type: 'bearer' });
    expect(res.status).toBe(200);
    return res.body as { type: string; user_id: string | null; client_id: string; details: Record<string, unknown> }[];
  }

  const counts = async () => {
    const [families] = await t.db.query('SELECT COUNT(*) AS n FROM token_families WHERE revoked_at IS NOT NULL');
    const [accessTokens] = await t.db.query('SELECT COUNT(*) AS n FROM access_tokens WHERE revoked_at IS NOT NULL');
    const [jtis] = await t.db.query('SELECT COUNT(*) AS n FROM used_jtis');
    return { families: Number(families.n), accessTokens: Number(accessTokens.n), jtis: Number(jtis.n) };
  };

  describe('discovery', () => {
    it('advertises both endpoints, their client authentication methods and the refresh_token grant', async () => {
      const res = await t.http.get('/.well-known/openid-configuration');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        introspection_endpoint: `${ISSUER}/oauth2/introspect`,
        revocation_endpoint: `${ISSUER}/oauth2/revoke`,
        // Public clients may revoke (RFC 7009) but not introspect (SPEC §4).
        introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt'],
        revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'],
      });
      expect(res.body.grant_types_supported).toEqual(expect.arrayContaining(['client_credentials', 'refresh_token']));
    });

    it('documents both endpoints in the OpenAPI document', async () => {
      const res = await t.http.get('/docs-json');
      expect(res.status).toBe(200);
      expect(res.body.paths['/oauth2/introspect'].post.summary).toBe('Token introspection (RFC 7662)');
      expect(res.body.paths['/oauth2/revoke'].post.summary).toBe('Token revocation (RFC 7009)');
    });
  });

  describe('introspection', () => {
    it('describes an active JWT access token of a user', async () => {
      const tokens = await login(t, client, user);
      const claims = decodeJwt(tokens.access_token);
      const res = await introspect({ token: tokens.access_token });
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.pragma).toBe('no-cache');
      expect(res.body).toEqual({
        active: true,
        scope: SCOPE,
        client_id: client.client_id,
        username: user.username,
        token_type: 'Bearer',
        exp: claims.exp,
        iat: claims.iat,
        sub: user.id,
        aud: client.client_id,
        iss: ISSUER,
        jti: claims.jti,
        auth_time: claims.auth_time,
        sid: claims.sid,
      });
    });

    it('describes an active opaque access token the same way', async () => {
      const tokens = await login(t, client, user, { token_format: 'opaque' });
      expect(tokens.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const [row] = await t.db.query('SELECT jti, family_id, created_at, expires_at FROM access_tokens WHERE token_hash = ?', [sha256(tokens.access_token)]);
      const res = await introspect({ token: tokens.access_token });
      expect(res.body).toEqual({
        active: true,
        scope: SCOPE,
        client_id: client.client_id,
        username: user.username,
        token_type: 'Bearer',
        exp: Math.floor(Number(row.expires_at) / 1000),
        iat: Math.floor(Number(row.created_at) / 1000),
        sub: user.id,
        aud: client.client_id,
        iss: ISSUER,
        jti: row.jti,
        auth_time: expect.any(Number),
        sid: row.family_id,
      });
    });

    it('describes an active refresh token', async () => {
      const tokens = await login(t, client, user);
      const family = await familyOfRefresh(tokens.refresh_token!);
      const res = await introspect({ token: tokens.refresh_token!, token_type_hint: 'refresh_token' });
      expect(res.body).toEqual({
        active: true,
        scope: SCOPE,
        client_id: client.client_id,
        username: user.username,
        token_type: 'refresh_token',
        exp: expect.any(Number),
        iat: expect.any(Number),
        sub: user.id,
        iss: ISSUER,
        auth_time: decodeJwt(tokens.id_token!).auth_time,
        sid: family.id,
      });
      expect(res.body.exp - res.body.iat).toBe(30 * 24 * 3600);
    });

    it('describes client_credentials tokens of both formats (sub is the client_id, no username)', async () => {
      for (const tokenFormat of ['jwt', 'opaque']) {
        const issued = await tokenRequest(t, { grant_type: 'client_credentials', scope: 'api:read', token_format: tokenFormat }, { id: client.client_id, secret: client.client_secret! });
        expect(issued.status).toBe(200);
        const res = await introspect({ token: issued.body.access_token });
        expect(res.body).toEqual({
          active: true,
          scope: 'api:read',
          client_id: client.client_id,
          token_type: 'Bearer',
          exp: expect.any(Number),
          iat: expect.any(Number),
          sub: client.client_id,
          aud: client.client_id,
          iss: ISSUER,
          jti: expect.any(String),
        });
      }
    });

    it('treats token_type_hint as a hint only', async () => {
      const tokens = await login(t, client, user);
      expect((await introspect({ token: tokens.access_token, token_type_hint: 'refresh_token' })).body.token_type).toBe('Bearer');
      expect((await introspect({ token: tokens.refresh_token!, token_type_hint: 'access_token' })).body.token_type).toBe('refresh_token');
      expect((await introspect({ token: tokens.refresh_token!, token_type_hint: 'nonsense' })).body.active).toBe(true);
    });

    it('reads exactly {"active":false} for unknown, malformed, forged and oversized tokens', async () => {
      const tokens = await login(t, client, user);
      const [header, payload] = tokens.access_token.split('.');
      const forged = `${header}.${payload}.${'A'.repeat(342)}`;
      for (const token of ['x'.repeat(43), 'not a token', 'a.b.c', forged, tokens.id_token!, 'y'.repeat(30_000)]) {
        const res = await introspect({ token });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ active: false });
      }
    });

    it("reads {\"active\":false} for another client's tokens of every kind", async () => {
      const jwt = await login(t, client, user);
      const opaque = await login(t, client, user, { token_format: 'opaque' });
      for (const token of [jwt.access_token, opaque.access_token, jwt.refresh_token!]) {
        const res = await introspect({ token }, other);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ active: false });
        expect(await active(token)).toBe(true);
      }
    });

    it('reads {"active":false} for expired access and refresh tokens', async () => {
      const jwt = await login(t, client, user, { refresh_expiry: '7200' });
      const opaque = await login(t, client, user, { token_format: 'opaque' });
      t.clock.advance(3601_000);
      expect(await active(jwt.access_token)).toBe(false);
      expect(await active(opaque.access_token)).toBe(false);
      expect(await active(jwt.refresh_token!)).toBe(true);
      t.clock.advance(3600_000);
      expect(await active(jwt.refresh_token!)).toBe(false);
    });

    it('reads {"active":false} for a spent refresh token', async () => {
      const tokens = await login(t, client, user);
      const refreshed = await tokenRequest(t, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, { id: client.client_id, secret: client.client_secret! });
      expect(refreshed.status).toBe(200);
      expect(await active(tokens.refresh_token!)).toBe(false);
      expect(await active(refreshed.body.refresh_token)).toBe(true);
      // The access token issued before the refresh stays valid until it expires.
      expect(await active(tokens.access_token)).toBe(true);
    });

    it('requires client authentication and a token', async () => {
      const tokens = await login(t, client, user);
      const anonymous = await t.http.post('/oauth2/introspect').type('form').send({ token: tokens.access_token });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toEqual({ error: 'invalid_client', error_description: 'Bad client credentials' });

      const wrongSecret = await t.http.post('/oauth2/introspect').auth(client.client_id, 'wrong').type('form').send({ token: tokens.access_token });
      expect(wrongSecret.status).toBe(401);
      expect(wrongSecret.headers['www-authenticate']).toBe('Basic realm="gatehouse"');

      const missing = await introspect({});
      expect(missing.status).toBe(400);
      expect(missing.body).toEqual({ error: 'invalid_request', error_description: 'token is required' });

      const json = await t.http.post('/oauth2/introspect').auth(client.client_id, client.client_secret!).send({ token: tokens.access_token });
      expect(json.status).toBe(400);
      expect(json.body.error).toBe('invalid_request');

      const repeated = await t.http.post('/oauth2/introspect').auth(client.client_id, client.client_secret!).type('form').send('token=a&token=b');
      expect(repeated.status).toBe(400);
      expect(repeated.body).toEqual({ error: 'invalid_request', error_description: 'Parameter "token" must not be repeated' });

      const get = await t.http.get('/oauth2/introspect');
      expect(get.status).toBe(405);
      expect(get.headers.allow).toBe('POST');
      expect(get.body.error).toBe('invalid_request');
    });
  });

  describe('who may introspect what (SPEC §4, RFC 7662 §2.1)', () => {
    const BAD_CLIENT = { error: 'invalid_client', error_description: 'Bad client credentials' };
    let publicClient: CreatedClient;
    /** A resource server registered as its own (confidential) client, and an app whose access tokens are meant for it. */
    let api: CreatedClient;
    let app: CreatedClient;

    beforeAll(async () => {
      publicClient = await createClient(t, {
        token_endpoint_auth_method: 'none',
        grant_types: ['password', 'refresh_token'],
        scope: SCOPE,
        default_scope: SCOPE,
      });
      api = await createClient(t, { client_id: unique('api'), token_endpoint_auth_method: 'client_secret_post' });
      app = await createClient(t, {
        grant_types: ['password', 'refresh_token', 'client_credentials'],
        scope: SCOPE,
        default_scope: SCOPE,
        access_token_audience: api.client_id,
      });
    });

    const setClient = async (c: CreatedClient, body: Record<string, unknown>) => {
      const res = await t.http.patch(`/admin/clients/${c.client_id}`).auth(await t.adminToken(), { type: 'bearer' }).send(body);
      expect(res.status).toBe(200);
    };

    it('a public client gets 401 invalid_client, even for its own tokens (it was 200 active:true)', async () => {
      const tokens = await login(t, publicClient, user, { token_format: 'opaque' });
      const jwt = await login(t, publicClient, user);
      for (const token of [tokens.access_token, tokens.refresh_token!, jwt.access_token, 'unknown']) {
        const res = await t.http.post('/oauth2/introspect').type('form').send({ client_id: publicClient.client_id, token });
        expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: BAD_CLIENT });
      }
      // As an unknown client_id reads: nothing tells a public client from an unregistered one.
      const unknown = await t.http.post('/oauth2/introspect').type('form').send({ client_id: unique('nobody'), token: jwt.access_token });
      expect({ status: unknown.status, body: unknown.body }).toEqual({ status: 401, body: BAD_CLIENT });
    });

    it('a public client may still revoke its tokens (RFC 7009)', async () => {
      const tokens = await login(t, publicClient, user);
      const res = await t.http.post('/oauth2/revoke').type('form').send({ client_id: publicClient.client_id, token: tokens.refresh_token! });
      expect(res.status).toBe(200);
      expect((await familyOfRefresh(tokens.refresh_token!)).revoked_reason).toBe('revoked');
    });

    it('a resource server introspects the access tokens, JWT and opaque, whose aud is its client_id', async () => {
      const jwt = await login(t, app, user);
      expect(decodeJwt(jwt.access_token).aud).toBe(api.client_id);
      const opaque = await login(t, app, user, { token_format: 'opaque' });
      for (const tokens of [jwt, opaque]) {
        const res = await introspect({ token: tokens.access_token }, api);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ active: true, client_id: app.client_id, sub: user.id, aud: api.client_id, username: user.username, token_type: 'Bearer' });
        // The app itself still reads its own tokens.
        expect((await introspect({ token: tokens.access_token }, app)).body).toMatchObject({ active: true, aud: api.client_id });
      }
      const machine = await tokenRequest(t, { grant_type: 'client_credentials', scope: 'api:read' }, { id: app.client_id, secret: app.client_secret! });
      expect((await introspect({ token: machine.body.access_token }, api)).body).toMatchObject({ active: true, client_id: app.client_id, sub: app.client_id, aud: api.client_id });
    });

    it('refresh tokens only by their own client, even when its access tokens name the resource server', async () => {
      const tokens = await login(t, app, user);
      expect((await introspect({ token: tokens.refresh_token! }, api)).body).toEqual({ active: false });
      expect((await introspect({ token: tokens.refresh_token!, token_type_hint: 'refresh_token' }, api)).body).toEqual({ active: false });
      expect(await active(tokens.refresh_token!, app)).toBe(true);
    });

    it('not the access tokens of other audiences: the match is exact, by client_id', async () => {
      // By default a client's tokens have its own client_id as aud.
      const mine = await login(t, client, user);
      expect((await introspect({ token: mine.access_token }, api)).body).toEqual({ active: false });
      const lookalike = await createClient(t, { grant_types: ['password'], scope: SCOPE, access_token_audience: `${api.client_id}-v2 x${api.client_id}` });
      const tokens = await login(t, lookalike, user);
      expect((await introspect({ token: tokens.access_token }, api)).body).toEqual({ active: false });
    });

    it('a token may name several audiences: each of them reads it, and aud is an array', async () => {
      const several = await createClient(t, { grant_types: ['password'], scope: SCOPE, access_token_audience: `https://api.example ${api.client_id}` });
      for (const format of ['jwt', 'opaque']) {
        const tokens = await login(t, several, user, { token_format: format });
        if (format === 'jwt') expect(decodeJwt(tokens.access_token).aud).toEqual(['https://api.example', api.client_id]);
        expect((await introspect({ token: tokens.access_token }, api)).body).toMatchObject({ active: true, client_id: several.client_id, aud: ['https://api.example', api.client_id] });
      }
    });

    it("reads inactive while the token's client is disabled, and once it is deleted", async () => {
      const issuer = await createClient(t, { grant_types: ['password'], scope: SCOPE, access_token_audience: api.client_id });
      const tokens = await login(t, issuer, user);
      expect(await active(tokens.access_token, api)).toBe(true);
      await setClient(issuer, { disabled: true });
      expect(await active(tokens.access_token, api)).toBe(false);
      await setClient(issuer, { disabled: false });
      expect(await active(tokens.access_token, api)).toBe(true);
      expect((await t.http.delete(`/admin/clients/${issuer.client_id}`).auth(await t.adminToken(), { type: 'bearer' })).status).toBe(204);
      expect(await active(tokens.access_token, api)).toBe(false);
    });

    it('a resource server registered after a token was issued does not read it (the aud named an earlier client)', async () => {
      const futureId = unique('future-api');
      const issuer = await createClient(t, { grant_types: ['password'], scope: SCOPE, access_token_audience: futureId });
      const tokens = await login(t, issuer, user);
      t.clock.advance(60_000);
      const future = await createClient(t, { client_id: futureId });
      expect(await active(tokens.access_token, future)).toBe(false);
      const fresh = await login(t, issuer, user);
      expect(await active(fresh.access_token, future)).toBe(true);
    });

    it('a public client named in the audience still may not introspect', async () => {
      const named = await createClient(t, { grant_types: ['password'], scope: SCOPE, access_token_audience: publicClient.client_id });
      const tokens = await login(t, named, user);
      const res = await t.http.post('/oauth2/introspect').type('form').send({ client_id: publicClient.client_id, token: tokens.access_token });
      expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: BAD_CLIENT });
    });
  });

  describe('revocation', () => {
    it('a refresh token ends its family: refresh tokens and access tokens of both formats stop working', async () => {
      const first = await login(t, client, user);
      const refreshed = await tokenRequest(t, { grant_type: 'refresh_token', refresh_token: first.refresh_token!, token_format: 'opaque' }, { id: client.client_id, secret: client.client_secret! });
      expect(refreshed.status).toBe(200);
      const family = await familyOfRefresh(first.refresh_token!);

      const res = await revoke({ token: refreshed.body.refresh_token, token_type_hint: 'refresh_token' });
      expect(res.status).toBe(200);
      expect(res.text).toBe('');
      expect(res.headers['cache-control']).toBe('no-store');

      expect(await familyOfRefresh(first.refresh_token!)).toMatchObject({ id: family.id, revoked_reason: 'revoked' });
      expect(await active(refreshed.body.refresh_token)).toBe(false);
      expect(await active(first.access_token)).toBe(false);
      expect(await active(refreshed.body.access_token)).toBe(false);
      const again = await tokenRequest(t, { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token }, { id: client.client_id, secret: client.client_secret! });
      expect(again.status).toBe(400);
      expect(again.body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has been revoked' });

      const events = await audit('token.revoked');
      expect(events[0]).toMatchObject({ user_id: user.id, client_id: client.client_id, details: { token_type: 'refresh_token', sid: family.id } });
      expect(JSON.stringify(events)).not.toContain(refreshed.body.refresh_token);
    });

    it('a spent refresh token also ends its family (the client is logging out)', async () => {
      const first = await login(t, client, user);
      const refreshed = await tokenRequest(t, { grant_type: 'refresh_token', refresh_token: first.refresh_token! }, { id: client.client_id, secret: client.client_secret! });
      expect((await revoke({ token: first.refresh_token! })).status).toBe(200);
      expect(await active(refreshed.body.refresh_token)).toBe(false);
    });

    it('an opaque access token is revoked on its own; the family continues', async () => {
      const tokens = await login(t, client, user, { token_format: 'opaque' });
      const res = await revoke({ token: tokens.access_token, token_type_hint: 'access_token' });
      expect(res.status).toBe(200);
      const [row] = await t.db.query('SELECT revoked_at FROM access_tokens WHERE token_hash = ?', [sha256(tokens.access_token)]);
      expect(row.revoked_at).not.toBeNull();
      expect(await active(tokens.access_token)).toBe(false);
      expect(await active(tokens.refresh_token!)).toBe(true);
      expect((await familyOfRefresh(tokens.refresh_token!)).revoked_at).toBeNull();
      const events = await audit('token.revoked');
      expect(events[0]).toMatchObject({ user_id: user.id, details: { token_type: 'access_token', format: 'opaque' } });
    });

    it('a JWT access token is listed as revoked until it expires; the family continues', async () => {
      const tokens = await login(t, client, user);
      const before = await counts();
      expect((await revoke({ token: tokens.access_token })).status).toBe(200);
      expect(await active(tokens.access_token)).toBe(false);
      expect(await active(tokens.refresh_token!)).toBe(true);
      expect((await counts()).jtis).toBe(before.jtis + 1);
      const events = await audit('token.revoked');
      expect(events[0]).toMatchObject({ details: { token_type: 'access_token', format: 'jwt', jti: decodeJwt(tokens.access_token).jti } });
    });

    it('a revoked JWT access token is refused by bearer-protected endpoints', async () => {
      const admin = { id: ADMIN_CLIENT_ID, secret: ADMIN_CLIENT_SECRET };
      const issued = await tokenRequest(t, { grant_type: 'client_credentials' }, admin);
      const bearer = issued.body.access_token as string;
      expect((await t.http.get('/admin/policy').auth(bearer, { type: 'bearer' })).status).toBe(200);
      const res = await t.http.post('/oauth2/revoke').auth(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET).type('form').send({ token: bearer });
      expect(res.status).toBe(200);
      const refused = await t.http.get('/admin/policy').auth(bearer, { type: 'bearer' });
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
    });

    it("answers 200 for unknown tokens and other clients' tokens, and nothing changes", async () => {
      const jwt = await login(t, client, user);
      const opaque = await login(t, client, user, { token_format: 'opaque' });
      const before = await counts();
      for (const token of ['x'.repeat(43), 'a.b.c', jwt.access_token, opaque.access_token, jwt.refresh_token!, 'z'.repeat(30_000)]) {
        const res = await revoke({ token }, other);
        expect(res.status).toBe(200);
        expect(res.text).toBe('');
      }
      expect(await counts()).toEqual(before);
      expect(await active(jwt.access_token)).toBe(true);
      expect(await active(opaque.access_token)).toBe(true);
      expect(await active(jwt.refresh_token!)).toBe(true);
    });

    it('revoking twice is harmless and recorded once', async () => {
      const tokens = await login(t, client, user);
      const family = await familyOfRefresh(tokens.refresh_token!);
      expect((await revoke({ token: tokens.refresh_token! })).status).toBe(200);
      expect((await revoke({ token: tokens.refresh_token! })).status).toBe(200);
      const events = (await audit('token.revoked')).filter((e) => e.details.sid === family.id);
      expect(events).toHaveLength(1);
    });

    it('requires client authentication and a token', async () => {
      const anonymous = await t.http.post('/oauth2/revoke').type('form').send({ token: 'x' });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toEqual({ error: 'invalid_client', error_description: 'Bad client credentials' });
      const missing = await revoke({});
      expect(missing.status).toBe(400);
      expect(missing.body).toEqual({ error: 'invalid_request', error_description: 'token is required' });
      const get = await t.http.get('/oauth2/revoke');
      expect(get.status).toBe(405);
    });
  });

  describe('admin session ends (SPEC §6)', () => {
    it('DELETE /admin/users/{id}/sessions ends every family of the user, and only theirs', async () => {
      const target = await createUser(t);
      const bystander = await createUser(t);
      const atClient = await login(t, client, target);
      const atOther = await login(t, other, target, { token_format: 'opaque' });
      const untouched = await login(t, client, bystander);

      const res = await t.http.delete(`/admin/users/${target.id}/sessions`).auth(await t.adminToken(), { type: 'bearer' });
      expect(res.status).toBe(204);

      const rows = await t.db.query('SELECT revoked_reason FROM token_families WHERE user_id = ?', [target.id]);
      expect(rows).toEqual([{ revoked_reason: 'admin' }, { revoked_reason: 'admin' }]);
      expect(await active(atClient.refresh_token!)).toBe(false);
      expect(await active(atClient.access_token)).toBe(false);
      expect(await active(atOther.access_token, other)).toBe(false);
      expect(await active(untouched.refresh_token!)).toBe(true);
      const refresh = await tokenRequest(t, { grant_type: 'refresh_token', refresh_token: atClient.refresh_token! }, { id: client.client_id, secret: client.client_secret! });
      expect(refresh.body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has been revoked' });

      const events = await audit('admin.user.sessions_revoked');
      expect(events[0]).toMatchObject({ user_id: target.id, client_id: ADMIN_CLIENT_ID, details: { families: 2 } });
    });

    it('DELETE /admin/users/{id}/sessions of an unknown user is 404', async () => {
      const res = await t.http.delete('/admin/users/00000000-0000-0000-0000-000000000000/sessions').auth(await t.adminToken(), { type: 'bearer' });
      expect(res.status).toBe(404);
    });

    it('disabling a user ends their sessions', async () => {
      const target = await createUser(t);
      const tokens = await login(t, client, target, { token_format: 'opaque' });
      const res = await t.http.patch(`/admin/users/${target.id}`).auth(await t.adminToken(), { type: 'bearer' }).send({ disabled: true });
      expect(res.status).toBe(200);
      expect(await familyOfRefresh(tokens.refresh_token!)).toMatchObject({ revoked_reason: 'user_disabled' });
      expect(await active(tokens.access_token)).toBe(false);
      expect(await active(tokens.refresh_token!)).toBe(false);
    });
  });
});

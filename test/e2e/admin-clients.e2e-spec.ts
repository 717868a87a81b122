import { startApp, type TestApp } from '../support/app';
import { adminApi, createClient, createUser, tokenRequest, unique } from '../support/fixtures';

/** Admin API for clients (SPEC §6, §3.2): CRUD, secret rotation, validation, and who may call it. */
describe('Admin API: clients', () => {
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await startApp();
    admin = await t.adminToken();
  });
  afterAll(() => t.close());

  const api = adminApi(() => t, () => admin);
  const storedRow = async (clientId: string) => {
    const rows = await t.db.query('SELECT * FROM clients WHERE client_id = ?', [clientId]);
    return rows[0] as Record<string, unknown> | undefined;
  };
  const clientCredentials = (id: string, secret: string) => tokenRequest(t, { grant_type: 'client_credentials' }, { id, secret });
  const validation = (fields: Record<string, unknown>) => ({ statusCode: 400, error: 'Bad Request', message: 'Validation failed', fields });

  describe('create', () => {
    it('generates a client_id and a 256-bit secret, returns the secret once and stores only its digest', async () => {
      const res = await api.post('/admin/clients').send({ client_name: 'Generated', grant_types: ['client_credentials'] });
      expect(res.status).toBe(201);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body.client_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(res.body.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(res.body).toEqual({
        client_id: res.body.client_id,
        client_secret: res.body.client_secret,
        client_name: 'Generated',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        allowed_cors_origins: [],
        post_logout_redirect_uris: [],
        backchannel_logout_uri: null,
        backchannel_logout_session_required: false,
        logout_revokes_refresh_tokens: true,
        scope: 'openid profile email address phone offline_access groups',
        default_scope: 'openid profile',
        jwks: null,
        jwks_uri: null,
        tls_client_auth_subject_dn: null,
        require_pkce: false,
        require_mfa: false,
        trust_end_user_ip_header: false,
        allow_pkce_plain: false,
        access_token_format: 'jwt',
        access_token_ttl: 3600,
        id_token_ttl: 3600,
        refresh_token_ttl: 2592000,
        max_exchange_period_hours: 4320,
        refresh_token_without_offline_access: false,
        access_token_audience: null,
        id_token_signed_response_alg: 'RS256',
        disabled: false,
        created_at: expect.any(String),
        updated_at: expect.any(String),
      });

      const row = await storedRow(res.body.client_id);
      expect(row!.secret_digest).toMatch(/^[0-9a-f]{64}$/);
      expect(row!.secret_digest).not.toBe(res.body.client_secret);
      expect(JSON.stringify(row)).not.toContain(res.body.client_secret);

      const token = await clientCredentials(res.body.client_id, res.body.client_secret);
      expect(token.status).toBe(200);
    });

    it('accepts a supplied client_id and a supplied secret of at least 32 characters', async () => {
      const clientId = unique('supplied');
      const secret = 'a-supplied-secret-of-32-characters!';
      const res = await api.post('/admin/clients').send({ client_id: clientId, client_secret: secret, grant_types: ['client_credentials'], scope: 'api:read', default_scope: 'api:read' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ client_id: clientId, client_secret: secret, scope: 'api:read', default_scope: 'api:read' });
      const row = await storedRow(clientId);
      expect(row!.secret_digest).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(row)).not.toContain(secret);
      expect((await clientCredentials(clientId, secret)).status).toBe(200);
    });

    it('refuses a supplied secret shorter than 32 characters, naming client_secret', async () => {
      const res = await api.post('/admin/clients').send({ client_id: unique('short'), client_secret: 'x'.repeat(31), grant_types: ['client_credentials'] });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(validation({ client_secret: [expect.stringContaining('client_secret')] }));
    });

    it('creates a public client without any secret', async () => {
      const res = await api
        .post('/admin/clients')
        .send({ client_id: unique('spa'), token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: ['https://spa.example/cb'] });
      expect(res.status).toBe(201);
      expect(res.body.client_secret).toBeUndefined();
      expect((await storedRow(res.body.client_id))!.secret_digest).toBeNull();
    });

    it('normalises the scope lists (duplicates dropped)', async () => {
      const res = await api
        .post('/admin/clients')
        .send({ client_id: unique('scopes'), grant_types: ['client_credentials'], scope: 'a b a c', default_scope: 'b b' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ scope: 'a b c', default_scope: 'b' });
    });

    it('refuses a duplicate client_id with 409 and leaves the first client unchanged', async () => {
      const first = await createClient(t, { client_name: 'first' });
      const res = await api.post('/admin/clients').send({ client_id: first.client_id, client_name: 'second', grant_types: ['client_credentials'] });
      expect(res.status).toBe(409);
      expect(res.body).toEqual({ statusCode: 409, error: 'Conflict', message: `Client "${first.client_id}" already exists` });
      expect((await storedRow(first.client_id))!.client_name).toBe('first');
      expect((await clientCredentials(first.client_id, first.client_secret!)).status).toBe(200);
    });

    it('treats client_id as case-sensitive and exact on both stores', async () => {
      const first = await createClient(t, { client_id: unique('CaseClient') });
      const lower = first.client_id.toLowerCase();
      expect((await api.get(`/admin/clients/${lower}`)).status).toBe(404);
      expect((await api.get(`/admin/clients/${first.client_id}%20`)).status).toBe(404);
      expect((await clientCredentials(lower, first.client_secret!)).status).toBe(401);
      expect((await clientCredentials(`${first.client_id} `, first.client_secret!)).status).toBe(401);

      // A client_id differing only by case is another client.
      const second = await createClient(t, { client_id: lower });
      expect(second.client_id).toBe(lower);
      const rows = await t.db.query('SELECT client_id FROM clients WHERE LOWER(client_id) = ? ORDER BY client_id', [lower]);
      expect(rows.map((r: { client_id: string }) => r.client_id)).toEqual([first.client_id, lower]);
      expect((await clientCredentials(lower, second.client_secret!)).status).toBe(200);
      expect((await clientCredentials(first.client_id, second.client_secret!)).status).toBe(401);
      expect((await api.delete(`/admin/clients/${lower}`)).status).toBe(204);
      expect((await api.get(`/admin/clients/${first.client_id}`)).status).toBe(200);
    });

    it('handles a client_id of the maximum length (128) in paths', async () => {
      const clientId = `${unique('long')}-`.padEnd(128, 'x');
      const created = await createClient(t, { client_id: clientId });
      expect((await api.get(`/admin/clients/${clientId}`)).body.client_id).toBe(clientId);
      expect((await api.post(`/admin/clients/${clientId}/secret`)).status).toBe(200);
      expect((await api.delete(`/admin/clients/${created.client_id}`)).status).toBe(204);
    });
  });

  describe('validation: 400 naming each bad field', () => {
    const post = (body: unknown) => api.post('/admin/clients').send(body as object);

    it.each([
      ['access_token_ttl', { access_token_ttl: 10 }],
      ['access_token_ttl', { access_token_ttl: 'soon' }],
      ['access_token_ttl', { access_token_ttl: 3600.5 }],
      ['id_token_ttl', { id_token_ttl: 86401 }],
      ['refresh_token_ttl', { refresh_token_ttl: -1 }],
      ['max_exchange_period_hours', { max_exchange_period_hours: 4321 }],
      ['max_exchange_period_hours', { max_exchange_period_hours: 0 }],
      ['grant_types', { grant_types: ['implicit'] }],
      ['grant_types', { grant_types: 'client_credentials' }],
      ['grant_types', { grant_types: ['client_credentials', 'client_credentials'] }],
      ['token_endpoint_auth_method', { token_endpoint_auth_method: 'magic' }],
      ['access_token_format', { access_token_format: 'xml' }],
      ['id_token_signed_response_alg', { id_token_signed_response_alg: 'none' }],
      ['client_id', { client_id: 'has space' }],
      ['client_id', { client_id: 'x'.repeat(129) }],
      ['client_id', { client_id: '' }],
      ['client_name', { client_name: 42 }],
      ['redirect_uris', { redirect_uris: ['not a uri'] }],
      ['redirect_uris', { redirect_uris: ['https://app.example/cb#fragment'] }],
      ['redirect_uris', { redirect_uris: ['javascript:alert(document.cookie)'] }],
      ['redirect_uris', { redirect_uris: ['data:text/html,<script>alert(1)</script>'] }],
      ['redirect_uris', { redirect_uris: ['https://app.example/cb', 'file:///etc/passwd'] }],
      ['allowed_cors_origins', { allowed_cors_origins: ['https://app.example/'] }],
      ['allowed_cors_origins', { allowed_cors_origins: ['https://app.example/callback'] }],
      ['allowed_cors_origins', { allowed_cors_origins: ['https://App.example'] }],
      ['allowed_cors_origins', { allowed_cors_origins: ['https://app.example:443'] }],
      ['allowed_cors_origins', { allowed_cors_origins: ['*'] }],
      ['allowed_cors_origins', { allowed_cors_origins: ['https://*.example'] }],
      ['allowed_cors_origins', { allowed_cors_origins: ['null'] }],
      ['allowed_cors_origins', { allowed_cors_origins: ['app.example'] }],
      ['allowed_cors_origins', { allowed_cors_origins: ['https://a.example', 'https://a.example'] }],
      ['allowed_cors_origins', { allowed_cors_origins: 'https://a.example' }],
      ['post_logout_redirect_uris', { post_logout_redirect_uris: ['https://app.example/out#x'] }],
      ['post_logout_redirect_uris', { post_logout_redirect_uris: ['javascript:alert(1)'] }],
      ['post_logout_redirect_uris', { post_logout_redirect_uris: 'https://app.example/out' }],
      ['backchannel_logout_uri', { backchannel_logout_uri: 'ftp://rp.example/logout' }],
      ['backchannel_logout_uri', { backchannel_logout_uri: 'https://rp.example/logout#frag' }],
      ['backchannel_logout_session_required', { backchannel_logout_session_required: 'yes' }],
      ['logout_revokes_refresh_tokens', { logout_revokes_refresh_tokens: null }],
      ['allowed_cors_origins', { allowed_cors_origins: null }],
      ['access_token_audience', { access_token_audience: 'api  other' }],
      ['access_token_audience', { access_token_audience: ' api' }],
      ['access_token_audience', { access_token_audience: 'api\tother' }],
      ['access_token_audience', { access_token_audience: 'api\nother' }],
      ['scope', { scope: 'bad"scope' }],
      ['scope', { scope: '' }],
      ['scope', { scope: 'a  b' }],
      ['jwks_uri', { jwks_uri: 'ftp://keys.example/jwks' }],
      ['require_pkce', { require_pkce: 'yes' }],
      ['disabled', { disabled: 1 }],
      ['unknown_field', { unknown_field: true }],
    ])('names %s for %j', async (field, body) => {
      const res = await post({ client_id: unique('bad'), grant_types: ['client_credentials'], ...body });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('Validation failed');
      expect(Object.keys(res.body.fields)).toEqual([field]);
      expect(res.body.fields[field]).toEqual([expect.any(String), ...res.body.fields[field].slice(1)]);
    });

    it('names every bad field at once', async () => {
      const res = await post({ access_token_ttl: 5, grant_types: ['nope'], surprise: 1 });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.fields).sort()).toEqual(['access_token_ttl', 'grant_types', 'surprise']);
    });

    it('refuses a default_scope that is not a subset of scope', async () => {
      const res = await post({ client_id: unique('subset'), grant_types: ['client_credentials'], scope: 'api:read', default_scope: 'api:read api:write' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(validation({ default_scope: ['default_scope must be a subset of scope (not allowed: api:write)'] }));
    });

    it('refuses jwks together with jwks_uri (RFC 7591 §2)', async () => {
      const res = await post({ client_id: unique('keys'), grant_types: ['client_credentials'], jwks: { keys: [] }, jwks_uri: 'https://app.example/jwks' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(validation({ jwks: ['jwks and jwks_uri must not both be set (RFC 7591 §2)'] }));
    });

    it('accepts native-app redirect URIs with a custom scheme or loopback', async () => {
      const res = await post({
        client_id: unique('native'),
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        redirect_uris: ['com.example.app:/oauth2redirect', 'http://127.0.0.1:8400/cb'],
      });
      expect(res.status).toBe(201);
      expect(res.body.redirect_uris).toEqual(['com.example.app:/oauth2redirect', 'http://127.0.0.1:8400/cb']);
    });

    it('refuses a public client with client_credentials', async () => {
      const res = await post({ client_id: unique('pub'), token_endpoint_auth_method: 'none', grant_types: ['client_credentials'] });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(validation({ grant_types: [expect.stringContaining('client_credentials')] }));
    });

    it('refuses a public client with a secret', async () => {
      const res = await post({
        client_id: unique('pub'),
        token_endpoint_auth_method: 'none',
        client_secret: 'y'.repeat(40),
        grant_types: ['authorization_code'],
        redirect_uris: ['https://a.example/cb'],
      });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.fields)).toEqual(['client_secret']);
    });

    it('requires a redirect_uri for authorization_code', async () => {
      const res = await post({ client_id: unique('code'), grant_types: ['authorization_code'] });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.fields)).toEqual(['redirect_uris']);
    });

    it.each([
      ['an array', '[]'],
      ['a string', '"client"'],
      ['null', 'null'],
      ['a number', '42'],
    ])('refuses a JSON body that is %s with 400', async (_name, body) => {
      const res = await api.post('/admin/clients').set('Content-Type', 'application/json').send(body);
      expect(res.status).toBe(400);
    });

    it('refuses malformed JSON with 400', async () => {
      const res = await api.post('/admin/clients').set('Content-Type', 'application/json').send('{"client_id": ');
      expect(res.status).toBe(400);
    });

    it('writes nothing when validation fails', async () => {
      const clientId = unique('nothing');
      await post({ client_id: clientId, grant_types: ['client_credentials'], access_token_ttl: 1 });
      expect(await storedRow(clientId)).toBeUndefined();
    });
  });

  describe('read', () => {
    it('lists clients without any secret', async () => {
      const created = await createClient(t, { client_name: 'listed' });
      const res = await api.get('/admin/clients');
      expect(res.status).toBe(200);
      expect(Array.isArray(res.body)).toBe(true);
      const listed = res.body.find((c: { client_id: string }) => c.client_id === created.client_id);
      expect(listed).toMatchObject({ client_id: created.client_id, client_name: 'listed' });
      for (const client of res.body) {
        expect(client).not.toHaveProperty('client_secret');
        expect(client).not.toHaveProperty('secret_digest');
      }
      expect(JSON.stringify(res.body)).not.toContain(created.client_secret);
      // The bootstrap admin client is listed too.
      expect(res.body.map((c: { client_id: string }) => c.client_id)).toContain('test-admin');
    });

    it('gets one client without its secret', async () => {
      const created = await createClient(t, { client_name: 'one' });
      const res = await api.get(`/admin/clients/${encodeURIComponent(created.client_id)}`);
      expect(res.status).toBe(200);
      const { client_secret: _secret, ...withoutSecret } = created;
      expect(res.body).toEqual(withoutSecret);
      expect(JSON.stringify(res.body)).not.toContain(created.client_secret);
    });

    it('answers 404 for an unknown client on every operation', async () => {
      const path = '/admin/clients/no-such-client';
      const expected = { statusCode: 404, error: 'Not Found', message: 'Client "no-such-client" not found' };
      for (const res of [
        await api.get(path),
        await api.patch(path).send({ client_name: 'x' }),
        await api.delete(path),
        await api.post(`${path}/secret`),
      ]) {
        expect(res.status).toBe(404);
        expect(res.body).toEqual(expected);
      }
    });

    it.each([
      ['percent-encoded slashes', '..%2F..%2Fetc%2Fpasswd'],
      ['a NUL byte', 'abc%00def'],
      ['unicode', '%E2%98%83%F0%9F%94%91'],
      ['a quote', "o'brien%22"],
      ['SQL', "x'%20OR%20'1'%3D'1"],
      ['a trailing space', 'test-admin%20'],
      ['more than 128 characters', 'x'.repeat(300)],
      ['a percent sign', '100%25'],
    ])('answers 404 for a client_id with %s', async (_name, id) => {
      const res = await api.get(`/admin/clients/${id}`);
      expect(res.status).toBe(404);
    });

    it('answers an over-long path with 414, not a 5xx', async () => {
      const res = await api.get(`/admin/clients/${'x'.repeat(5000)}`);
      expect(res.status).toBe(414);
    });
  });

  describe('update', () => {
    it('changes the given fields only and bumps updated_at', async () => {
      const created = await createClient(t, { client_name: 'before', scope: 'api:read api:write', default_scope: 'api:read' });
      t.clock.advance(5000);
      const res = await api.patch(`/admin/clients/${created.client_id}`).send({ client_name: 'after', access_token_ttl: 600, access_token_format: 'opaque' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        client_id: created.client_id,
        client_name: 'after',
        access_token_ttl: 600,
        access_token_format: 'opaque',
        scope: 'api:read api:write',
        default_scope: 'api:read',
        created_at: created.created_at,
      });
      expect(res.body.client_secret).toBeUndefined();
      expect(Date.parse(res.body.updated_at) - Date.parse(created.updated_at as string)).toBeGreaterThanOrEqual(5000);
      expect((await api.get(`/admin/clients/${created.client_id}`)).body).toEqual(res.body);

      // The new policy applies at the token endpoint, and the secret is unchanged.
      const token = await clientCredentials(created.client_id, created.client_secret!);
      expect(token.status).toBe(200);
      expect(token.body.expires_in).toBe(600);
      expect(token.body.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('validates the merged client: default_scope must stay a subset of scope', async () => {
      const created = await createClient(t, { scope: 'a b', default_scope: 'a b' });
      const res = await api.patch(`/admin/clients/${created.client_id}`).send({ scope: 'a' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(validation({ default_scope: ['default_scope must be a subset of scope (not allowed: b)'] }));
      expect((await storedRow(created.client_id))!.scope).toBe('a b');
    });

    it('keeps allowed_cors_origins (SPEC §4 CORS) as given, replaces the list on PATCH, and reads a row from before it existed as []', async () => {
      const created = await createClient(t, { allowed_cors_origins: ['https://spa.example', 'http://localhost:5173', 'http://[::1]:8080'] });
      expect(created.allowed_cors_origins).toEqual(['https://spa.example', 'http://localhost:5173', 'http://[::1]:8080']);
      const replaced = await api.patch(`/admin/clients/${created.client_id}`).send({ allowed_cors_origins: ['https://other.example:8443'] });
      expect(replaced.status).toBe(200);
      expect(replaced.body.allowed_cors_origins).toEqual(['https://other.example:8443']);
      expect(JSON.parse((await storedRow(created.client_id))!.allowed_cors_origins as string)).toEqual(['https://other.example:8443']);
      const emptied = await api.patch(`/admin/clients/${created.client_id}`).send({ allowed_cors_origins: [] });
      expect(emptied.body.allowed_cors_origins).toEqual([]);

      await t.db.query('UPDATE clients SET allowed_cors_origins = NULL WHERE client_id = ?', [created.client_id]);
      expect((await api.get(`/admin/clients/${created.client_id}`)).body.allowed_cors_origins).toEqual([]);
      const patched = await api.patch(`/admin/clients/${created.client_id}`).send({ client_name: 'old row' });
      expect(patched.status).toBe(200);
      expect(patched.body.allowed_cors_origins).toEqual([]);
    });

    it('accepts several access token audiences separated by single spaces', async () => {
      const created = await createClient(t, { access_token_audience: 'https://api.example resource-server aud-𝔘' });
      expect(created.access_token_audience).toBe('https://api.example resource-server aud-𝔘');
    });

    it('clears a nullable field with null and refuses null for the others', async () => {
      const created = await createClient(t, { client_name: 'named', access_token_audience: 'https://api.example' });
      const cleared = await api.patch(`/admin/clients/${created.client_id}`).send({ client_name: null, access_token_audience: null });
      expect(cleared.status).toBe(200);
      expect(cleared.body).toMatchObject({ client_name: null, access_token_audience: null });
      expect((await storedRow(created.client_id))!.client_name).toBeNull();

      const refused = await api
        .patch(`/admin/clients/${created.client_id}`)
        .send({ grant_types: null, access_token_ttl: null, scope: null, disabled: null, token_endpoint_auth_method: null });
      expect(refused.status).toBe(400);
      expect(Object.keys(refused.body.fields).sort()).toEqual(['access_token_ttl', 'disabled', 'grant_types', 'scope', 'token_endpoint_auth_method']);
      expect((await storedRow(created.client_id))!.access_token_ttl).toBe(3600);
    });

    it('refuses making a client_credentials client public', async () => {
      const created = await createClient(t);
      const res = await api.patch(`/admin/clients/${created.client_id}`).send({ token_endpoint_auth_method: 'none' });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.fields)).toEqual(['grant_types']);
    });

    it('refuses client_id, client_secret and unknown fields', async () => {
      const created = await createClient(t);
      const res = await api.patch(`/admin/clients/${created.client_id}`).send({ client_id: 'renamed', client_secret: 'z'.repeat(40), colour: 'blue' });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.fields).sort()).toEqual(['client_id', 'client_secret', 'colour']);
    });

    it('refuses bad values naming the field', async () => {
      const created = await createClient(t);
      const res = await api.patch(`/admin/clients/${created.client_id}`).send({ refresh_token_ttl: 'long', grant_types: ['bogus'] });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.fields).sort()).toEqual(['grant_types', 'refresh_token_ttl']);
    });

    it('disabling a client stops it at the token endpoint', async () => {
      const created = await createClient(t);
      expect((await api.patch(`/admin/clients/${created.client_id}`).send({ disabled: true })).body.disabled).toBe(true);
      expect((await clientCredentials(created.client_id, created.client_secret!)).status).toBe(401);
      await api.patch(`/admin/clients/${created.client_id}`).send({ disabled: false });
      expect((await clientCredentials(created.client_id, created.client_secret!)).status).toBe(200);
    });

    it('gives a public client that becomes confidential a secret, shown once', async () => {
      const created = await createClient(t, { token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: ['https://a.example/cb'] });
      const res = await api
        .patch(`/admin/clients/${created.client_id}`)
        .send({ token_endpoint_auth_method: 'client_secret_post', grant_types: ['authorization_code', 'client_credentials'] });
      expect(res.status).toBe(200);
      expect(res.body.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect((await storedRow(created.client_id))!.secret_digest).toMatch(/^[0-9a-f]{64}$/);
      const token = await tokenRequest(t, { grant_type: 'client_credentials', client_id: created.client_id, client_secret: res.body.client_secret });
      expect(token.status).toBe(200);
      expect((await api.get(`/admin/clients/${created.client_id}`)).body.client_secret).toBeUndefined();
    });
  });

  describe('delete', () => {
    it('deletes the client: 204, gone from get and list, refused at the token endpoint', async () => {
      const created = await createClient(t);
      const res = await api.delete(`/admin/clients/${created.client_id}`);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect((await api.get(`/admin/clients/${created.client_id}`)).status).toBe(404);
      expect((await api.get('/admin/clients')).body.map((c: { client_id: string }) => c.client_id)).not.toContain(created.client_id);
      expect(await storedRow(created.client_id)).toBeUndefined();
      expect((await clientCredentials(created.client_id, created.client_secret!)).status).toBe(401);
      expect((await api.delete(`/admin/clients/${created.client_id}`)).status).toBe(404);
    });
  });

  describe('secret rotation', () => {
    it('returns a new secret once: the old one stops working, the new one works', async () => {
      const created = await createClient(t);
      const before = (await storedRow(created.client_id))!.secret_digest;
      const res = await api.post(`/admin/clients/${created.client_id}/secret`);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({ client_id: created.client_id, client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
      expect(res.body.client_secret).not.toBe(created.client_secret);

      const after = (await storedRow(created.client_id))!.secret_digest as string;
      expect(after).toMatch(/^[0-9a-f]{64}$/);
      expect(after).not.toBe(before);
      expect(after).not.toBe(res.body.client_secret);

      const old = await clientCredentials(created.client_id, created.client_secret!);
      expect(old.status).toBe(401);
      expect(old.body).toEqual({ error: 'invalid_client', error_description: 'Bad client credentials' });
      expect((await clientCredentials(created.client_id, res.body.client_secret)).status).toBe(200);

      const got = await api.get(`/admin/clients/${created.client_id}`);
      expect(JSON.stringify(got.body)).not.toContain(res.body.client_secret);
    });

    it('refuses to rotate the secret of a public client', async () => {
      const created = await createClient(t, { token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: ['https://a.example/cb'] });
      const res = await api.post(`/admin/clients/${created.client_id}/secret`);
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.fields)).toEqual(['token_endpoint_auth_method']);
      expect((await storedRow(created.client_id))!.secret_digest).toBeNull();
    });
  });

  describe('authorization: a bearer token with scope admin', () => {
    const operations = () => [
      t.http.get('/admin/clients'),
      t.http.post('/admin/clients').send({ grant_types: ['client_credentials'] }),
      t.http.get('/admin/clients/test-admin'),
      t.http.patch('/admin/clients/test-admin').send({ disabled: true }),
      t.http.delete('/admin/clients/test-admin'),
      t.http.post('/admin/clients/test-admin/secret'),
    ];

    it('401 invalid_token with a Bearer challenge when there is no token', async () => {
      for (const req of operations()) {
        const res = await req;
        expect(res.status).toBe(401);
        expect(res.body.error).toBe('invalid_token');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
      }
    });

    it.each([
      ['a garbage token', 'Bearer not-a-token'],
      ['a malformed JWT', 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
      ['Basic credentials', `Basic ${Buffer.from('test-admin:test-admin-secret-0123456789abcdefghij').toString('base64')}`],
      ['an empty Bearer', 'Bearer '],
    ])('401 invalid_token for %s', async (_name, authorization) => {
      for (const req of operations()) {
        const res = await req.set('Authorization', authorization);
        expect(res.status).toBe(401);
        expect(res.body.error).toBe('invalid_token');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
      }
    });

    it('401 for an expired admin token', async () => {
      t.clock.advance(3601 * 1000);
      try {
        const res = await t.http.get('/admin/clients').auth(admin, { type: 'bearer' });
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
      } finally {
        t.clock.advance(-3601 * 1000);
      }
    });

    it('403 insufficient_scope for a token of a client without the admin scope', async () => {
      const plain = await createClient(t, { scope: 'api:read', default_scope: 'api:read' });
      const token = (await clientCredentials(plain.client_id, plain.client_secret!)).body.access_token as string;
      for (const req of operations()) {
        const res = await req.auth(token, { type: 'bearer' });
        expect(res.status).toBe(403);
        expect(res.body.error).toBe('insufficient_scope');
        expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="admin"');
      }
      // Nothing changed.
      expect((await storedRow('test-admin'))!.disabled).toBeFalsy();
    });

    it('accepts an opaque admin access token as well', async () => {
      const res = await tokenRequest(t, { grant_type: 'client_credentials', token_format: 'opaque' }, { id: 'test-admin', secret: 'test-admin-secret-0123456789abcdefghij' });
      expect(res.status).toBe(200);
      const list = await t.http.get('/admin/clients').auth(res.body.access_token, { type: 'bearer' });
      expect(list.status).toBe(200);
    });

    it('403 for a token issued to a user, even with the admin scope (admin is client_credentials only)', async () => {
      const user = await createUser(t);
      // An admin client that may also log users in: its user tokens carry the admin scope, and are still refused.
      const adminWithUsers = await createClient(t, { grant_types: ['client_credentials', 'password'], scope: 'admin', default_scope: 'admin' });
      for (const token_format of ['jwt', 'opaque']) {
        const login = await tokenRequest(
          t,
          { grant_type: 'password', username: user.username as string, password: user.password, token_format },
          { id: adminWithUsers.client_id, secret: adminWithUsers.client_secret! },
        );
        expect(login.status).toBe(200);
        expect(login.body.scope).toBe('admin');
        const token = login.body.access_token as string;
        const res = await t.http.get('/admin/clients').auth(token, { type: 'bearer' });
        expect(res.status).toBe(403);
        expect(res.body).toEqual({ error: 'insufficient_scope', error_description: 'The admin API needs a client_credentials access token of an admin client' });
        expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="admin"');
      }
    });

    it('refuses the token of an admin client once that client is disabled or deleted', async () => {
      const second = await createClient(t, { scope: 'admin', default_scope: 'admin' });
      const token = (await clientCredentials(second.client_id, second.client_secret!)).body.access_token as string;
      expect((await t.http.get('/admin/clients').auth(token, { type: 'bearer' })).status).toBe(200);
      await api.patch(`/admin/clients/${second.client_id}`).send({ disabled: true });
      expect((await t.http.get('/admin/clients').auth(token, { type: 'bearer' })).status).toBe(401);
      await api.delete(`/admin/clients/${second.client_id}`);
      expect((await t.http.get('/admin/clients').auth(token, { type: 'bearer' })).status).toBe(401);
    });
  });
});

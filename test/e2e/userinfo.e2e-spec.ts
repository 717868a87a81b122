import { ISSUER, startApp, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, type CreatedClient, type CreatedUser } from '../support/fixtures';

const PATHS = ['/oauth2/userinfo', '/oidc/me'];
const MISSING = 'A bearer access token is required';
const INVALID = 'The access token is invalid or expired';

describe('UserInfo (SPEC §4, OIDC Core §5.3)', () => {
  let t: TestApp;
  let client: CreatedClient;
  let user: CreatedUser;

  beforeAll(async () => {
    t = await startApp();
    client = await createClient(t, { grant_types: ['password', 'client_credentials'], access_token_ttl: 600 });
    user = await createUser(t, {
      email: 'grace@example.com',
      email_verified: false,
      phone_number: '+14155550100',
      phone_number_verified: true,
      name: 'Grace Hopper',
      given_name: 'Grace',
      family_name: 'Hopper',
      locale: 'en-US',
      address: { formatted: '', locality: 'Arlington', country: 'US' },
      groups: ['navy'],
    });
  });
  afterAll(() => t.close());
  afterEach(() => t.clock.reset());

  async function accessToken(scope: string, extra: Record<string, string> = {}, who: CreatedUser = user): Promise<string> {
    const res = await tokenRequest(
      t,
      { grant_type: 'password', username: who.username as string, password: who.password, scope, ...extra },
      { id: client.client_id, secret: client.client_secret! },
    );
    if (res.status !== 200) throw new Error(`login: ${res.status} ${res.text}`);
    return res.body.access_token;
  }

  const expectedClaims = () => ({
    sub: user.id,
    name: 'Grace Hopper',
    given_name: 'Grace',
    family_name: 'Hopper',
    locale: 'en-US',
    preferred_username: user.username,
    updated_at: Math.floor(Date.parse(user.updated_at as string) / 1000),
    email: 'grace@example.com',
    email_verified: false,
    phone_number: '+14155550100',
    phone_number_verified: true,
    address: { locality: 'Arlington', country: 'US' },
    groups: ['navy'],
  });

  function expectInvalidToken(res: { status: number; body: unknown; headers: Record<string, string> }, description: string) {
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(`Bearer error="invalid_token", error_description="${description}"`);
    expect(res.body).toEqual({ error: 'invalid_token', error_description: description });
    expect(res.headers['cache-control']).toBe('no-store');
  }

  it.each(PATHS)('GET %s returns sub and the claims of every granted scope, not cached', async (path) => {
    const token = await accessToken('openid profile email phone address groups');
    const res = await t.http.get(path).auth(token, { type: 'bearer' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
    expect(res.body).toEqual(expectedClaims());
  });

  it.each(PATHS)('POST %s accepts the Authorization header, and the access_token form parameter (RFC 6750 §2.2)', async (path) => {
    const token = await accessToken('openid email');
    const byHeader = await t.http.post(path).auth(token, { type: 'bearer' });
    expect(byHeader.status).toBe(200);
    expect(byHeader.body).toEqual({ sub: user.id, email: 'grace@example.com', email_verified: false });
    const byBody = await t.http.post(path).type('form').send({ access_token: token });
    expect(byBody.status).toBe(200);
    expect(byBody.body).toEqual(byHeader.body);
  });

  it('maps claims by the token\'s scope exactly as the id_token does', async () => {
    const all = expectedClaims();
    const cases: [string, Record<string, unknown>][] = [
      ['openid', { sub: user.id }],
      ['openid profile', { sub: user.id, name: all.name, given_name: all.given_name, family_name: all.family_name, locale: all.locale, preferred_username: all.preferred_username, updated_at: all.updated_at }],
      ['openid email', { sub: user.id, email: all.email, email_verified: false }],
      ['openid phone', { sub: user.id, phone_number: all.phone_number, phone_number_verified: true }],
      ['openid address', { sub: user.id, address: all.address }],
      ['openid groups', { sub: user.id, groups: ['navy'] }],
    ];
    for (const [scope, expected] of cases) {
      const token = await accessToken(scope);
      const res = await t.http.get('/oauth2/userinfo').auth(token, { type: 'bearer' });
      expect({ scope, status: res.status, body: res.body }).toEqual({ scope, status: 200, body: expected });
      const login = await tokenRequest(
        t,
        { grant_type: 'password', username: user.username as string, password: user.password, scope },
        { id: client.client_id, secret: client.client_secret! },
      );
      const idClaims = JSON.parse(Buffer.from(login.body.id_token.split('.')[1], 'base64url').toString());
      for (const name of ['iss', 'aud', 'exp', 'iat', 'auth_time', 'sid', 'amr', 'at_hash']) delete idClaims[name];
      expect(idClaims).toEqual(expected);
    }
  });

  it('accepts an opaque access token', async () => {
    const token = await accessToken('openid email', { token_format: 'opaque' });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const res = await t.http.get('/oauth2/userinfo').auth(token, { type: 'bearer' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ sub: user.id, email: 'grace@example.com', email_verified: false });
  });

  it.each(PATHS)('answers %s without a token with 401 invalid_token and a Bearer challenge', async (path) => {
    // RFC 6750 §3.1: no token at all gets the bare challenge, without an error code.
    for (const res of [
      await t.http.get(path),
      await t.http.post(path),
      await t.http.get(path).set('Authorization', 'Basic dXNlcjpwYXNz'),
      await t.http.post(path).type('form').send({ access_token: '' }),
    ]) {
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
      expect(res.body).toEqual({ error: 'invalid_token', error_description: MISSING });
    }
  });

  it('refuses malformed, unknown and forged tokens with 401 invalid_token', async () => {
    const token = await accessToken('openid');
    const [head, body, signature] = token.split('.');
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
    const forged = [head, Buffer.from(JSON.stringify({ ...payload, sub: 'someone-else' })).toString('base64url'), signature].join('.');
    for (const bad of ['not a token', '', 'Bearer', 'x'.repeat(600), 'A'.repeat(43), `${token}x`, forged, `${head}.${body}.`]) {
      const res = await t.http.get('/oauth2/userinfo').set('Authorization', `Bearer ${bad}`);
      expectInvalidToken(res, INVALID);
    }
    expectInvalidToken(await t.http.post('/oauth2/userinfo').type('form').send({ access_token: 'A'.repeat(43) }), INVALID);
  });

  it('refuses expired tokens of both formats', async () => {
    const jwt = await accessToken('openid');
    const opaque = await accessToken('openid', { token_format: 'opaque' });
    // Lifetimes count from the whole second of issue (exp = iat + ttl, iat truncated): a second before
    // the end, a token issued late in its second would already be expired once the request is served.
    t.clock.advance(598_000);
    expect((await t.http.get('/oauth2/userinfo').auth(jwt, { type: 'bearer' })).status).toBe(200);
    expect((await t.http.get('/oauth2/userinfo').auth(opaque, { type: 'bearer' })).status).toBe(200);
    t.clock.advance(3_000);
    expectInvalidToken(await t.http.get('/oauth2/userinfo').auth(jwt, { type: 'bearer' }), INVALID);
    expectInvalidToken(await t.http.get('/oauth2/userinfo').auth(opaque, { type: 'bearer' }), INVALID);
  });

  it('refuses a client_credentials token: it has no user', async () => {
    const res = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: client.client_id, secret: client.client_secret! });
    expect(res.status).toBe(200);
    expectInvalidToken(await t.http.get('/oauth2/userinfo').auth(res.body.access_token, { type: 'bearer' }), INVALID);
  });

  it('answers 403 insufficient_scope for a user token without openid', async () => {
    const token = await accessToken('profile email');
    const res = await t.http.get('/oauth2/userinfo').auth(token, { type: 'bearer' });
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="openid"');
    expect(res.body).toEqual({ error: 'insufficient_scope', error_description: 'The access token lacks the "openid" scope' });
  });

  it('refuses a token sent both in the header and in the body (RFC 6750 §2)', async () => {
    const token = await accessToken('openid');
    const res = await t.http.post('/oauth2/userinfo').auth(token, { type: 'bearer' }).type('form').send({ access_token: token });
    expect(res.status).toBe(400);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_request"/);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'The access token must be sent in one way only, not in both the header and the body' });
    const repeated = await t.http.post('/oauth2/userinfo').type('form').send(`access_token=${token}&access_token=${token}`);
    expect(repeated.status).toBe(400);
    expect(repeated.body).toEqual({ error: 'invalid_request', error_description: 'Parameter "access_token" must not be repeated' });
  });

  it('stops answering once the user\'s sessions end, the user is disabled or deleted', async () => {
    const other = await createUser(t);
    const admin = await t.adminToken();
    const first = await accessToken('openid', {}, other);
    const opaque = await accessToken('openid', { token_format: 'opaque' }, other);
    await t.http.delete(`/admin/users/${other.id}/sessions`).auth(admin, { type: 'bearer' }).expect(204);
    expectInvalidToken(await t.http.get('/oauth2/userinfo').auth(first, { type: 'bearer' }), INVALID);
    expectInvalidToken(await t.http.get('/oauth2/userinfo').auth(opaque, { type: 'bearer' }), INVALID);

    const second = await accessToken('openid', {}, other);
    expect((await t.http.get('/oauth2/userinfo').auth(second, { type: 'bearer' })).status).toBe(200);
    await t.http.patch(`/admin/users/${other.id}`).auth(admin, { type: 'bearer' }).send({ disabled: true }).expect(200);
    expectInvalidToken(await t.http.get('/oauth2/userinfo').auth(second, { type: 'bearer' }), INVALID);

    await t.http.patch(`/admin/users/${other.id}`).auth(admin, { type: 'bearer' }).send({ disabled: false }).expect(200);
    const third = await accessToken('openid', {}, other);
    await t.http.delete(`/admin/users/${other.id}`).auth(admin, { type: 'bearer' }).expect(204);
    expectInvalidToken(await t.http.get('/oauth2/userinfo').auth(third, { type: 'bearer' }), INVALID);
  });

  it('stops answering for the tokens of a client that is disabled or deleted, JWT and opaque', async () => {
    const admin = await t.adminToken();
    const other = await createClient(t, { grant_types: ['password'] });
    const login = (extra: Record<string, string> = {}) =>
      tokenRequest(
        t,
        { grant_type: 'password', username: user.username as string, password: user.password, scope: 'openid', ...extra },
        { id: other.client_id, secret: other.client_secret! },
      ).then((res) => res.body.access_token as string);
    const jwt = await login();
    const opaque = await login({ token_format: 'opaque' });
    expect((await t.http.get('/oauth2/userinfo').auth(jwt, { type: 'bearer' })).status).toBe(200);

    await t.http.patch(`/admin/clients/${other.client_id}`).auth(admin, { type: 'bearer' }).send({ disabled: true }).expect(200);
    expectInvalidToken(await t.http.get('/oauth2/userinfo').auth(jwt, { type: 'bearer' }), INVALID);
    expectInvalidToken(await t.http.get('/oauth2/userinfo').auth(opaque, { type: 'bearer' }), INVALID);

    await t.http.patch(`/admin/clients/${other.client_id}`).auth(admin, { type: 'bearer' }).send({ disabled: false }).expect(200);
    expect((await t.http.get('/oauth2/userinfo').auth(jwt, { type: 'bearer' })).status).toBe(200);
    await t.http.delete(`/admin/clients/${other.client_id}`).auth(admin, { type: 'bearer' }).expect(204);
    expectInvalidToken(await t.http.get('/oauth2/userinfo').auth(jwt, { type: 'bearer' }), INVALID);
  });

  it('is advertised in discovery with the claims it can return', async () => {
    const res = await t.http.get('/.well-known/openid-configuration');
    expect(res.body.userinfo_endpoint).toBe(`${ISSUER}/oauth2/userinfo`);
    expect([...res.body.claims_supported].sort()).toEqual(
      [
        'sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'at_hash', 'sid', 'amr',
        'name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website',
        'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at', 'email', 'email_verified', 'phone_number', 'phone_number_verified',
        'address', 'groups',
      ].sort(),
    );
  });

  it('is documented in the OpenAPI document', async () => {
    const res = await t.http.get('/docs-json');
    // OPTIONS: the CORS preflight for browser apps (SPEC §4). The alias is listed by the canonical operations.
    const [canonical, ...aliases] = PATHS;
    expect(Object.keys(res.body.paths[canonical]).sort()).toEqual(['get', 'options', 'post']);
    for (const method of ['get', 'options', 'post']) expect(res.body.paths[canonical][method]['x-aliases']).toEqual(aliases);
    for (const alias of aliases) expect(res.body.paths[alias]).toBeUndefined();
  });
});

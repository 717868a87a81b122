import type { Response } from 'supertest';
import { startApp, type TestApp } from '../support/app';
import { adminApi, createClient, createUser, tokenRequest, unique, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { login } from '../support/login';
import { loginForCode, pkcePair } from '../support/login-form';

/** The single-page app: a public client, its redirect URI's origin and one more origin of its own. */
const SPA = 'https://spa.example';
const SPA_CALLBACK = `${SPA}/callback`;
const SPA_ALT = 'http://localhost:5173';
/** A confidential web app's origin, and an origin registered by some other client only. */
const WEB = 'https://web.example:8443';
const OTHER = 'https://other.example';
/** Registered by nobody. */
const FOREIGN = 'https://evil.example';

const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-max-age',
  'access-control-expose-headers',
  'access-control-allow-credentials',
];

/** The CORS headers of a response, absent ones left out: what the browser decides by. */
function corsOf(res: Response): Record<string, string> {
  return Object.fromEntries(CORS_HEADERS.filter((name) => res.headers[name] !== undefined).map((name) => [name, res.headers[name] as string]));
}

/** What an allowed origin gets on an actual response: itself, and the error headers it may read. Never credentials. */
const allowedFor = (origin: string) => ({ 'access-control-allow-origin': origin, 'access-control-expose-headers': 'WWW-Authenticate, Retry-After' });

/**
 * SPEC §4 CORS for browser apps: discovery and JWKS answer any origin; the token, UserInfo and
 * revocation endpoints answer preflights for origins some client registered, and let the app read
 * a response (errors included) only from the origins of the client it is for: the origins of its
 * redirect_uris plus its allowed_cors_origins. No credentials mode; `Vary: Origin`.
 */
describe('CORS for browser apps (SPEC §4)', () => {
  let t: Awaited<ReturnType<typeof startApp>>;
  let spa: CreatedClient;
  let web: CreatedClient;
  let user: CreatedUser;
  const api = adminApi(
    () => t,
    () => admin,
  );
  let admin: string;

  beforeAll(async () => {
    t = await startApp();
    admin = await t.adminToken();
    spa = await createClient(t, {
      client_name: 'Single-page app',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      // A native-app redirect URI has no origin a browser would send; it adds none.
      redirect_uris: [SPA_CALLBACK, 'com.example.app:/oauth2redirect'],
      allowed_cors_origins: [SPA_ALT],
      scope: 'openid profile offline_access',
    });
    web = await createClient(t, { grant_types: ['password', 'refresh_token', 'client_credentials'], redirect_uris: [`${WEB}/cb`], scope: 'openid profile offline_access' });
    await createClient(t, { allowed_cors_origins: [OTHER] });
    user = await createUser(t);
  });
  afterAll(() => t.close());

  /** A browser sign-in of the SPA up to the code: the code and its PKCE verifier. */
  async function spaCode(): Promise<{ code: string; verifier: string }> {
    const { verifier, challenge } = pkcePair();
    const { code } = await loginForCode(
      t,
      { response_type: 'code', client_id: spa.client_id, redirect_uri: SPA_CALLBACK, scope: 'openid profile offline_access', code_challenge: challenge, code_challenge_method: 'S256' },
      { username: user.username as string, password: user.password },
    );
    return { code, verifier };
  }

  /** The SPA's token request for a code, sent from `origin` (or, without one, as a backend sends it). */
  function spaTokenRequest(origin: string | undefined, form: Record<string, string>) {
    const req = t.http.post('/oauth2/token').type('form');
    if (origin) req.set('Origin', origin);
    return req.send({ client_id: spa.client_id, ...form });
  }

  async function spaTokens(): Promise<{ access_token: string; refresh_token: string }> {
    const { code, verifier } = await spaCode();
    const res = await spaTokenRequest(SPA, { grant_type: 'authorization_code', code, redirect_uri: SPA_CALLBACK, code_verifier: verifier });
    expect(res.status).toBe(200);
    return res.body;
  }

  const preflight = (path: string, origin: string | undefined, method = 'POST', headers = 'content-type') => {
    const req = t.http.options(path);
    if (origin !== undefined) req.set('Origin', origin);
    if (method) req.set('Access-Control-Request-Method', method);
    if (headers) req.set('Access-Control-Request-Headers', headers);
    return req;
  };

  describe('discovery and JWKS answer any origin', () => {
    it.each(['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/oauth2/jwks', '/.well-known/jwks.json'])(
      '%s: Access-Control-Allow-Origin * for every origin and without one (the same response, cacheable)',
      async (path) => {
        for (const origin of [FOREIGN, SPA, 'null', undefined]) {
          const req = t.http.get(path);
          if (origin) req.set('Origin', origin);
          const res = await req;
          expect({ origin, status: res.status, cors: corsOf(res), vary: res.headers.vary }).toEqual({
            origin,
            status: 200,
            cors: { 'access-control-allow-origin': '*' },
            vary: undefined,
          });
          expect(res.headers['cache-control']).toBe('public, max-age=300');
        }
        const pre = await preflight(path, FOREIGN, 'GET', '');
        expect(pre.status).toBe(204);
        expect(corsOf(pre)).toEqual({
          'access-control-allow-origin': '*',
          'access-control-allow-methods': 'GET',
          'access-control-allow-headers': 'Authorization, Content-Type',
          'access-control-max-age': '600',
        });
      },
    );
  });

  describe('preflights at the token, UserInfo and revocation endpoints', () => {
    const ENDPOINTS = [
      { path: '/oauth2/token', methods: 'POST' },
      { path: '/oidc/token', methods: 'POST' },
      { path: '/api/v1/oauth2/token', methods: 'POST' },
      { path: '/oauth2/userinfo', methods: 'GET, POST' },
      { path: '/oidc/me', methods: 'GET, POST' },
      { path: '/oauth2/revoke', methods: 'POST' },
    ];

    it.each(ENDPOINTS)('$path: an origin some client registered (redirect URI or allowed_cors_origins) may go on', async ({ path, methods }) => {
      for (const origin of [SPA, SPA_ALT, WEB, OTHER]) {
        const res = await preflight(path, origin, 'POST', 'authorization,content-type');
        expect({ origin, status: res.status, cors: corsOf(res), vary: res.headers.vary, body: res.text }).toEqual({
          origin,
          status: 204,
          cors: {
            'access-control-allow-origin': origin,
            'access-control-allow-methods': methods,
            'access-control-allow-headers': 'Authorization, Content-Type',
            'access-control-max-age': '600',
          },
          vary: 'Origin',
          body: '',
        });
      }
    });

    it.each(ENDPOINTS)('$path: any other origin gets no CORS headers, so the browser stops there', async ({ path }) => {
      for (const origin of [
        FOREIGN,
        'null',
        // Origins compare exactly, as browsers serialise them.
        'https://SPA.example',
        `${SPA}/`,
        `${SPA}:443`,
        'http://spa.example',
        'https://spa.example.evil.example',
        `${SPA}, ${FOREIGN}`,
      ]) {
        const res = await preflight(path, origin);
        expect({ origin, status: res.status, cors: corsOf(res), vary: res.headers.vary }).toEqual({ origin, status: 204, cors: {}, vary: 'Origin' });
      }
    });

    it('an OPTIONS request that is not a preflight is still a wrong method (405), and so is any OPTIONS at introspection and authorization', async () => {
      for (const [path, origin, method, allow] of [
        ['/oauth2/token', undefined, 'POST', 'POST'],
        ['/oauth2/token', SPA, '', 'POST'],
        ['/oauth2/userinfo', undefined, '', 'GET, HEAD, POST'],
        ['/.well-known/openid-configuration', undefined, '', 'GET, HEAD'],
        ['/oauth2/introspect', SPA, 'POST', 'POST'],
        ['/oauth2/authorize', SPA, 'GET', 'GET, HEAD, POST'],
      ] as const) {
        const res = await preflight(path, origin, method, '');
        expect({ path, origin, status: res.status, allow: res.headers.allow, error: res.body.error }).toEqual({ path, origin, status: 405, allow, error: 'invalid_request' });
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
      }
    });
  });

  describe('the token endpoint', () => {
    it("lets the client's own origins read its tokens; another client's origin and a foreign one may not", async () => {
      const { code, verifier } = await spaCode();
      const res = await spaTokenRequest(SPA, { grant_type: 'authorization_code', code, redirect_uri: SPA_CALLBACK, code_verifier: verifier });
      expect(res.status).toBe(200);
      expect(corsOf(res)).toEqual(allowedFor(SPA));
      expect(res.headers.vary).toBe('Origin');
      expect(res.headers['cache-control']).toBe('no-store');

      // A refresh from the SPA's other origin, then from origins that are not the SPA's: the
      // request does what it does (CORS protects reading, not sending), but the page cannot read it.
      const fromAlt = await spaTokenRequest(SPA_ALT, { grant_type: 'refresh_token', refresh_token: res.body.refresh_token });
      expect(fromAlt.status).toBe(200);
      expect(corsOf(fromAlt)).toEqual(allowedFor(SPA_ALT));
      for (const origin of [OTHER, WEB, FOREIGN]) {
        const { code: c, verifier: v } = await spaCode();
        const refused = await spaTokenRequest(origin, { grant_type: 'authorization_code', code: c, redirect_uri: SPA_CALLBACK, code_verifier: v });
        expect({ origin, status: refused.status, cors: corsOf(refused), vary: refused.headers.vary }).toEqual({ origin, status: 200, cors: {}, vary: 'Origin' });
      }
    });

    it('a confidential client (client_secret_basic) gets the origins of its redirect URIs too', async () => {
      const res = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: web.client_id, secret: web.client_secret! }).set('Origin', WEB);
      expect(res.status).toBe(200);
      expect(corsOf(res)).toEqual(allowedFor(WEB));
      const fromSpa = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: web.client_id, secret: web.client_secret! }).set('Origin', SPA);
      expect(corsOf(fromSpa)).toEqual({});
    });

    it("errors are readable from the client's origins (400 after authentication) and, without an authenticated client, from registered origins (401)", async () => {
      const badCode = await spaTokenRequest(SPA, { grant_type: 'authorization_code', code: 'x'.repeat(43), redirect_uri: SPA_CALLBACK, code_verifier: 'v'.repeat(43) });
      expect(badCode.status).toBe(400);
      expect(badCode.body.error).toBe('invalid_grant');
      expect(corsOf(badCode)).toEqual(allowedFor(SPA));
      const badCodeElsewhere = await spaTokenRequest(OTHER, { grant_type: 'authorization_code', code: 'x'.repeat(43), redirect_uri: SPA_CALLBACK, code_verifier: 'v'.repeat(43) });
      expect(corsOf(badCodeElsewhere)).toEqual({});

      const unknownClient = await t.http.post('/oauth2/token').set('Origin', SPA).type('form').send({ grant_type: 'authorization_code', client_id: unique('nobody') });
      expect(unknownClient.status).toBe(401);
      expect(corsOf(unknownClient)).toEqual(allowedFor(SPA));
      const wrongSecret = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: web.client_id, secret: 'wrong' }).set('Origin', WEB);
      expect(wrongSecret.status).toBe(401);
      expect(wrongSecret.headers['www-authenticate']).toBe('Basic realm="gatehouse"');
      expect(corsOf(wrongSecret)).toEqual(allowedFor(WEB));
      const foreign = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: web.client_id, secret: 'wrong' }).set('Origin', FOREIGN);
      expect(foreign.status).toBe(401);
      expect(corsOf(foreign)).toEqual({});
      expect(foreign.headers.vary).toBe('Origin');

      const wrongMethod = await t.http.put('/oauth2/token').set('Origin', SPA);
      expect(wrongMethod.status).toBe(405);
      expect(corsOf(wrongMethod)).toEqual(allowedFor(SPA));
    });

    it('a request without Origin (a backend) gets no CORS headers and no Vary', async () => {
      const res = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: web.client_id, secret: web.client_secret! });
      expect(res.status).toBe(200);
      expect(corsOf(res)).toEqual({});
      expect(res.headers.vary).toBeUndefined();
    });
  });

  describe('UserInfo: the access token\'s client decides', () => {
    it("the token's client's origins read the claims, by GET and POST, at both paths; other origins do not", async () => {
      const tokens = await spaTokens();
      for (const path of ['/oauth2/userinfo', '/oidc/me']) {
        const get = await t.http.get(path).set('Origin', SPA_ALT).auth(tokens.access_token, { type: 'bearer' });
        expect(get.status).toBe(200);
        expect(get.body.sub).toBe(user.id);
        expect(corsOf(get)).toEqual(allowedFor(SPA_ALT));
        expect(get.headers.vary).toBe('Origin');
        const post = await t.http.post(path).set('Origin', SPA).type('form').send({ access_token: tokens.access_token });
        expect(post.status).toBe(200);
        expect(corsOf(post)).toEqual(allowedFor(SPA));
        for (const origin of [OTHER, WEB, FOREIGN]) {
          const refused = await t.http.get(path).set('Origin', origin).auth(tokens.access_token, { type: 'bearer' });
          expect({ origin, status: refused.status, cors: corsOf(refused) }).toEqual({ origin, status: 200, cors: {} });
        }
      }
    });

    it("a refused token's 401 is readable, WWW-Authenticate included: from the token's client's origins when it is known, else from registered origins", async () => {
      const invalid = await t.http.get('/oauth2/userinfo').set('Origin', SPA).auth('not-a-token', { type: 'bearer' });
      expect(invalid.status).toBe(401);
      expect(invalid.headers['www-authenticate']).toContain('error="invalid_token"');
      expect(corsOf(invalid)).toEqual(allowedFor(SPA));
      expect(corsOf(await t.http.get('/oauth2/userinfo').set('Origin', FOREIGN).auth('not-a-token', { type: 'bearer' }))).toEqual({});

      // A locked user's token: refused, but the token's client is known, and only its origins read the refusal.
      const locked = await createUser(t);
      const { verifier, challenge } = pkcePair();
      const { code } = await loginForCode(
        t,
        { response_type: 'code', client_id: spa.client_id, redirect_uri: SPA_CALLBACK, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' },
        { username: locked.username as string, password: locked.password },
      );
      const tokens = (await spaTokenRequest(SPA, { grant_type: 'authorization_code', code, redirect_uri: SPA_CALLBACK, code_verifier: verifier })).body;
      // Locked by failed logins (here in the store): the session stands, so the token still names its
      // client. (An admin lock would end the session, and the token would name nobody.)
      await t.db.query('UPDATE users SET failed_login_count = ?, locked_at = ? WHERE id = ?', [5, t.clock.nowMs(), locked.id]);
      const fromSpa = await t.http.get('/oauth2/userinfo').set('Origin', SPA).auth(tokens.access_token, { type: 'bearer' });
      expect(fromSpa.status).toBe(401);
      expect(corsOf(fromSpa)).toEqual(allowedFor(SPA));
      const fromOther = await t.http.get('/oauth2/userinfo').set('Origin', OTHER).auth(tokens.access_token, { type: 'bearer' });
      expect(fromOther.status).toBe(401);
      expect(corsOf(fromOther)).toEqual({});
    });
  });

  describe('revocation (public clients may revoke, RFC 7009)', () => {
    it("the SPA revokes its refresh token from its origin and reads the answer; a foreign origin's answer is not readable", async () => {
      const tokens = await spaTokens();
      const res = await t.http.post('/oauth2/revoke').set('Origin', SPA).type('form').send({ client_id: spa.client_id, token: tokens.refresh_token });
      expect(res.status).toBe(200);
      expect(corsOf(res)).toEqual(allowedFor(SPA));
      expect(res.headers.vary).toBe('Origin');
      const again = await spaTokenRequest(SPA, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
      expect(again.body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has been revoked' });
      expect(corsOf(again)).toEqual(allowedFor(SPA));

      const foreign = await t.http.post('/oauth2/revoke').set('Origin', FOREIGN).type('form').send({ client_id: spa.client_id, token: 'x' });
      expect(foreign.status).toBe(200);
      expect(corsOf(foreign)).toEqual({});
    });
  });

  describe('introspection is for backends', () => {
    it('has no CORS headers, whatever the origin', async () => {
      const tokens = await login(t, web, user);
      const res = await t.http.post('/oauth2/introspect').set('Origin', WEB).auth(web.client_id, web.client_secret!).type('form').send({ token: tokens.access_token });
      expect(res.status).toBe(200);
      expect(res.body.active).toBe(true);
      expect(corsOf(res)).toEqual({});
      expect(res.headers.vary).toBeUndefined();
    });
  });

  describe('the registered origins follow the clients', () => {
    const allowedPreflight = async (origin: string) => (await preflight('/oauth2/token', origin)).headers['access-control-allow-origin'] === origin;

    it('a client registered, changed, disabled or deleted through this instance changes the preflight answer at once', async () => {
      const origin = `https://${unique('spa')}.example`;
      expect(await allowedPreflight(origin)).toBe(false);
      const client = await createClient(t, { allowed_cors_origins: [origin] });
      expect(await allowedPreflight(origin)).toBe(true);

      expect((await api.patch(`/admin/clients/${client.client_id}`).send({ disabled: true })).status).toBe(200);
      expect(await allowedPreflight(origin)).toBe(false);
      expect((await api.patch(`/admin/clients/${client.client_id}`).send({ disabled: false })).status).toBe(200);
      expect(await allowedPreflight(origin)).toBe(true);

      const moved = `https://${unique('moved')}.example`;
      expect((await api.patch(`/admin/clients/${client.client_id}`).send({ allowed_cors_origins: [moved] })).status).toBe(200);
      expect(await allowedPreflight(origin)).toBe(false);
      expect(await allowedPreflight(moved)).toBe(true);

      expect((await api.delete(`/admin/clients/${client.client_id}`)).status).toBe(204);
      expect(await allowedPreflight(moved)).toBe(false);
    });

    it('the actual response follows a change of the client at once', async () => {
      const tokens = await spaTokens();
      const added = `https://${unique('added')}.example`;
      const before = await t.http.get('/oauth2/userinfo').set('Origin', added).auth(tokens.access_token, { type: 'bearer' });
      expect(corsOf(before)).toEqual({});
      expect((await api.patch(`/admin/clients/${spa.client_id}`).send({ allowed_cors_origins: [SPA_ALT, added] })).status).toBe(200);
      const after = await t.http.get('/oauth2/userinfo').set('Origin', added).auth(tokens.access_token, { type: 'bearer' });
      expect(corsOf(after)).toEqual(allowedFor(added));
      expect((await api.patch(`/admin/clients/${spa.client_id}`).send({ allowed_cors_origins: [SPA_ALT] })).status).toBe(200);
    });
  });

  describe('two instances on one database', () => {
    let b: TestApp;
    beforeAll(async () => {
      b = await startApp({ database: t.database });
      b.clock.advance(t.clock.nowMs() - b.clock.nowMs());
    });
    afterAll(() => b.close({ keepDatabase: true }));

    it("preflights read the registered origins once per CACHE_TTL_SECONDS (5 s): another instance's new client counts within it, not per request", async () => {
      const origin = `https://${unique('late')}.example`;
      const onB = async () => (await b.http.options('/oauth2/token').set('Origin', origin).set('Access-Control-Request-Method', 'POST')).headers['access-control-allow-origin'];
      // B reads the origins now, and then serves preflights from that set.
      expect(await onB()).toBeUndefined();
      await createClient(t, { allowed_cors_origins: [origin] });
      expect(await onB()).toBeUndefined();
      b.clock.advance(4_000);
      expect(await onB()).toBeUndefined();
      b.clock.advance(1_001);
      expect(await onB()).toBe(origin);
      // The actual response checks the authenticated client itself: no waiting there.
    });
  });
});

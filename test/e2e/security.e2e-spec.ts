import { createPublicKey, randomUUID } from 'node:crypto';
import { PurgeService } from '../../src/purge/purge.service';
import { SqlRunner } from '../../src/database/sql-runner';
import { base64url, exportJWK, generateKeyPair, importPKCS8, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { ADMIN_CLIENT_ID, ISSUER, startApp, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, unique, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { createTestDatabase, testStore } from '../support/database';
import { captureLogs } from '../support/logs';
import { authorizePath, loginForCode, openLoginPage, pageAlert, parseLoginForm, pkcePair, submitLogin } from '../support/login-form';

/**
 * A hostile review of the whole service, as a security team would do before production: every
 * case here is an attack or a defect once found, and stays as a regression test.
 */

const CB = 'https://app.example/callback';

describe('Security review', () => {
  let t: TestApp;
  let confidential: CreatedClient;
  let postClient: CreatedClient;
  let publicClient: CreatedClient;
  let user: CreatedUser;
  /** The JSON log lines of `t` (LOG_LEVEL=error, as every test app). */
  const tLogs = captureLogs();

  beforeAll(async () => {
    // Throttling on (production default), per address and per client, with limits these tests never reach.
    t = await startApp({ env: { LOGIN_RATE_LIMIT: '100000', LOGIN_RATE_LIMIT_PER_CLIENT: '100000' }, logStream: tLogs.stream });
    const grants = ['password', 'authorization_code', 'refresh_token', 'client_credentials'];
    confidential = await createClient(t, { client_name: 'Fuzz <App>', grant_types: grants, redirect_uris: [CB], scope: 'openid profile email offline_access api:read' });
    postClient = await createClient(t, { token_endpoint_auth_method: 'client_secret_post', grant_types: ['password', 'refresh_token'] });
    publicClient = await createClient(t, { token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token', 'password'], redirect_uris: [CB] });
    user = await createUser(t, { email: `${unique('fuzz')}@example.com` });
  });
  afterAll(() => t.close());

  const basic = (c: CreatedClient) => `Basic ${Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret ?? '')}`).toString('base64')}`;

  describe('authorization endpoint: open redirect, header injection, XSS, clickjacking (SPEC §5)', () => {
    /** Every HTML page: no caching, no framing, no sniffing, a CSP without scripts. */
    function expectPageHeaders(res: { headers: Record<string, string> }): void {
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['cache-control']).toBe('no-store');
      const csp = res.headers['content-security-policy'];
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("base-uri 'none'");
      expect(csp).not.toMatch(/script-src|unsafe-inline|unsafe-eval|javascript:/);
    }

    const UNSAFE_REDIRECT_URIS = [
      'https://app.example/cb\r\nSet-Cookie: injected=1',
      'https://app.example/cb\u0000',
      'https://app.example/c b',
      'https://app.example/例',
      'https://app.example/cb"><script>alert(1)</script>',
      'https:app.example/cb',
    ];

    it('every response, not only the login page, forbids framing and MIME sniffing (Swagger UI, JSON, errors)', async () => {
      for (const res of [
        await t.http.get('/docs'),
        await t.http.get('/docs-json'),
        await t.http.get('/oauth2/jwks'),
        await t.http.get('/.well-known/openid-configuration'),
        await t.http.get('/health/ready'),
        await t.http.get('/metrics'),
        await t.http.get('/no-such-page'),
        await t.http.post('/oauth2/token').type('form').send({ grant_type: '<script>alert(1)</script>', client_id: publicClient.client_id }),
        await t.http.get('/oauth2/userinfo'),
        await t.http.get('/admin/clients').auth(await t.adminToken(), { type: 'bearer' }),
      ]) {
        const label = `${res.status} ${res.headers['content-type']}`;
        expect({ label, nosniff: res.headers['x-content-type-options'], frame: res.headers['x-frame-options'] }).toEqual({ label, nosniff: 'nosniff', frame: 'DENY' });
      }
    });

    it('the admin API refuses redirect URIs that are not plain RFC 3986 absolute URIs', async () => {
      const admin = await t.adminToken();
      for (const uri of [...UNSAFE_REDIRECT_URIS, 'javascript:alert(1)', 'JAVASCRIPT:alert(1)', ' javascript:alert(1)']) {
        const created = await t.http.post('/admin/clients').auth(admin, { type: 'bearer' }).send({ grant_types: ['authorization_code'], redirect_uris: [uri] });
        expect({ uri, status: created.status, fields: Object.keys(created.body.fields ?? {}) }).toEqual({ uri, status: 400, fields: ['redirect_uris'] });
        const patched = await t.http.patch(`/admin/clients/${confidential.client_id}`).auth(admin, { type: 'bearer' }).send({ redirect_uris: [CB, uri] });
        expect({ uri, status: patched.status }).toEqual({ uri, status: 400 });
      }
      const [row] = await t.db.query('SELECT redirect_uris FROM clients WHERE client_id = ?', [confidential.client_id]);
      expect(JSON.parse(row.redirect_uris)).toEqual([CB]);
    });

    it('never redirects to a registered URI the rules refuse (a javascript: or header-breaking URI stored before they existed)', async () => {
      for (const uri of ['javascript:alert(document.domain)//', 'JavaScript:alert(1)', 'data:text/html,<script>alert(1)</script>', ...UNSAFE_REDIRECT_URIS]) {
        const legacy = await createClient(t, { token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: [CB] });
        await t.db.query('UPDATE clients SET redirect_uris = ? WHERE client_id = ?', [JSON.stringify([uri]), legacy.client_id]);
        // The redirect_uri named in the request, or the only registered one; on the login path and on an error path.
        for (const params of [
          { response_type: 'code', client_id: legacy.client_id, redirect_uri: uri, state: 's', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' },
          { response_type: 'code', client_id: legacy.client_id, state: 's', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' },
          { response_type: 'token', client_id: legacy.client_id, redirect_uri: uri, state: 's' },
          { response_type: 'code', client_id: legacy.client_id, redirect_uri: uri, state: 's' },
        ]) {
          const res = await t.http.get(authorizePath(params)).timeout(10_000);
          expect({ uri, params, status: res.status, location: res.headers.location }).toEqual({ uri, params, status: 400, location: undefined });
          expectPageHeaders(res);
          expect(pageAlert(res.text)).toBe('The redirect_uri registered for this application is not allowed.');
        }
      }
    });

    it('percent-encodes CR/LF and markup in state and error texts it sends to the redirect URI (no header injection)', async () => {
      const state = 'x\r\nSet-Cookie: injected=1\r\n\r\n<script>alert(1)</script>';
      const res = await t.http.get(authorizePath({ response_type: 'token', client_id: confidential.client_id, redirect_uri: CB, state }));
      expect(res.status).toBe(302);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.headers.location).toMatch(/^[\x21-\x7e]+$/);
      const location = new URL(res.headers.location);
      expect(`${location.origin}${location.pathname}`).toBe(CB);
      expect(location.searchParams.get('state')).toBe(state);
      expect(location.searchParams.get('error')).toBe('unsupported_response_type');
    });

    it('redirects only to an exact match of a registered URI', async () => {
      for (const uri of [`${CB}/`, `${CB}?x=1`, 'https://app.example/callback/../evil', 'https://APP.example/callback', 'https://app.example.evil.example/callback', 'https://app.example/Callback', `${CB}%00`, `${CB}#x`]) {
        const res = await t.http.get(authorizePath({ response_type: 'code', client_id: confidential.client_id, redirect_uri: uri, state: 's' }));
        expect({ uri, status: res.status, location: res.headers.location }).toEqual({ uri, status: 400, location: undefined });
        expect(pageAlert(res.text)).toBe('The redirect_uri is not registered for this application.');
      }
    });

    it('escapes every value it reflects (state, nonce, scope, client_name, login_hint, username, error texts), on every page', async () => {
      const payload = '"\'><script>alert(1)</script><img src=x onerror=alert(2)>';
      const admin = await t.adminToken();
      await t.http.patch(`/admin/clients/${confidential.client_id}`).auth(admin, { type: 'bearer' }).send({ client_name: payload });
      const page = await t.http.get(authorizePath({ response_type: 'code', client_id: confidential.client_id, redirect_uri: CB, state: payload, nonce: payload, login_hint: payload }));
      expect(page.status).toBe(200);
      expectPageHeaders(page);
      const form = parseLoginForm(page);
      expect(form.hidden.state).toBe(payload);
      expect(form.hidden.nonce).toBe(payload);
      const again = await submitLogin(t, form, { username: payload, password: 'wrong' });
      expect(again.status).toBe(400);
      expectPageHeaders(again);
      const badScope = await t.http.get(authorizePath({ response_type: 'code', client_id: confidential.client_id, redirect_uri: CB, scope: payload }));
      const badClient = await t.http.get(authorizePath({ response_type: 'code', client_id: payload, redirect_uri: payload }));
      expect(badClient.status).toBe(400);
      expectPageHeaders(badClient);
      for (const res of [page, again, badClient]) {
        // Markup and attribute break-outs arrive as character references only.
        expect(res.text).not.toMatch(/<script|<img|"'>/i);
      }
      expect(badScope.status).toBe(302);
      expect(badScope.headers.location).toMatch(/^[\x21-\x7e]+$/);
      await t.http.patch(`/admin/clients/${confidential.client_id}`).auth(admin, { type: 'bearer' }).send({ client_name: 'Fuzz <App>' });
    });
  });

  describe('JWT access tokens: only RFC 9068 tokens we signed, within their lifetime (UserInfo and admin API)', () => {
    interface OurKey {
      kid: string;
      key: CryptoKey;
      publicPem: string;
    }
    let rs256: OurKey;
    let es256: OurKey;
    let admin: string;
    let userLogin: { access_token: string; id_token: string };

    async function ourKey(alg: 'RS256' | 'ES256'): Promise<OurKey> {
      const [row] = await t.db.query("SELECT kid, public_key, private_key FROM `keys` WHERE purpose = 'signing' AND alg = ? AND retired_at IS NULL", [alg]);
      const jwk = JSON.parse(row.public_key);
      return { kid: row.kid, key: await importPKCS8(row.private_key, alg), publicPem: createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString() };
    }

    beforeAll(async () => {
      rs256 = await ourKey('RS256');
      es256 = await ourKey('ES256');
      admin = await t.adminToken();
      const res = await tokenRequest(t, { grant_type: 'password', username: user.username as string, password: user.password, scope: 'openid' }, { id: confidential.client_id, secret: confidential.client_secret! });
      expect(res.status).toBe(200);
      userLogin = res.body;
    });

    const now = () => t.clock.nowSeconds();
    /** The claims of a user access token for UserInfo, or of an admin client_credentials token. */
    const userClaims = (): JWTPayload => ({ iss: ISSUER, sub: user.id, aud: confidential.client_id, client_id: confidential.client_id, scope: 'openid', jti: randomUUID(), iat: now(), exp: now() + 600 });
    const adminClaims = (): JWTPayload => ({ iss: ISSUER, sub: ADMIN_CLIENT_ID, aud: ADMIN_CLIENT_ID, client_id: ADMIN_CLIENT_ID, scope: 'admin', jti: randomUUID(), iat: now(), exp: now() + 600 });
    const sign = (claims: JWTPayload, header: Record<string, unknown> = {}, key: OurKey = rs256) =>
      new SignJWT(claims).setProtectedHeader({ alg: key === es256 ? 'ES256' : 'RS256', kid: key.kid, typ: 'at+jwt', ...header }).sign(key.key);
    const unsigned = (claims: JWTPayload, header: Record<string, unknown>) => `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}.`;
    const hs256 = (claims: JWTPayload, secret: string, kid: string) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' }).sign(new TextEncoder().encode(secret));

    async function expectRefused(token: string, label: string): Promise<void> {
      const userinfo = await t.http.get('/oauth2/userinfo').auth(token, { type: 'bearer' });
      const adminApi = await t.http.get('/admin/clients').auth(token, { type: 'bearer' });
      for (const res of [userinfo, adminApi]) {
        expect({ label, status: res.status, body: res.body }).toEqual({ label, status: 401, body: { error: 'invalid_token', error_description: 'The access token is invalid or expired' } });
        expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token", error_description="The access token is invalid or expired"');
      }
    }

    it('accepts a token with the right key, typ, issuer and times (the forgeries below differ in one thing)', async () => {
      expect((await t.http.get('/oauth2/userinfo').auth(await sign(userClaims()), { type: 'bearer' })).status).toBe(200);
      expect((await t.http.get('/admin/clients').auth(await sign(adminClaims()), { type: 'bearer' })).status).toBe(200);
      // Another instance's clock may run a little ahead: up to a minute.
      expect((await t.http.get('/oauth2/userinfo').auth(await sign({ ...userClaims(), iat: now() + 60 }), { type: 'bearer' })).status).toBe(200);
    });

    it('refuses alg "none", and HS256 keyed with our public key (algorithm confusion)', async () => {
      for (const claims of [userClaims(), adminClaims()]) {
        await expectRefused(unsigned(claims, { alg: 'none', typ: 'at+jwt' }), 'alg none');
        await expectRefused(unsigned(claims, { alg: 'none', kid: rs256.kid, typ: 'at+jwt' }), 'alg none with our kid');
        await expectRefused(`${(await sign(claims)).split('.').slice(0, 2).join('.')}.`, 'signature stripped');
        await expectRefused(await hs256(claims, rs256.publicPem, rs256.kid), 'HS256 with the public key PEM');
        const jwks = (await t.http.get('/oauth2/jwks')).body.keys as { kid: string; n?: string }[];
        await expectRefused(await hs256(claims, jwks.find((k) => k.kid === rs256.kid)!.n!, rs256.kid), 'HS256 with the modulus');
      }
    });

    it('refuses a token of another type: an id_token, or a JWT without typ at+jwt (RFC 9068 §4)', async () => {
      // A real id_token: same issuer, same key, but an id_token.
      await expectRefused(userLogin.id_token, 'real id_token');
      for (const claims of [userClaims(), adminClaims()]) {
        await expectRefused(await sign(claims, { typ: undefined }), 'no typ (as an id_token)');
        await expectRefused(await sign(claims, { typ: 'JWT' }), 'typ JWT');
        await expectRefused(await sign(claims, { typ: 'id_token+jwt' }), 'typ id_token+jwt');
      }
    });

    it('refuses another issuer, a missing claim, an expired token, a future iat or nbf', async () => {
      for (const claims of [userClaims(), adminClaims()]) {
        await expectRefused(await sign({ ...claims, iss: 'https://evil.example' }), 'wrong iss');
        await expectRefused(await sign({ ...claims, iss: undefined }), 'no iss');
        await expectRefused(await sign({ ...claims, exp: undefined }), 'no exp');
        await expectRefused(await sign({ ...claims, jti: undefined }), 'no jti');
        await expectRefused(await sign({ ...claims, iat: now() - 700, exp: now() - 100 }), 'expired');
        await expectRefused(await sign({ ...claims, iat: now() + 3600, exp: now() + 7200 }), 'iat an hour ahead');
        await expectRefused(await sign({ ...claims, iat: now() + 120 }), 'iat two minutes ahead');
        await expectRefused(await sign({ ...claims, nbf: now() + 3600 }), 'nbf an hour ahead');
      }
    });

    it('refuses an unknown kid, no kid, a kid of another algorithm, and a key that is not ours', async () => {
      const foreign = await generateKeyPair('RS256');
      const foreignJwk = await exportJWK(foreign.publicKey);
      expect(foreignJwk.kty).toBe('RSA');
      for (const claims of [userClaims(), adminClaims()]) {
        await expectRefused(await sign(claims, { kid: 'no-such-key' }), 'unknown kid');
        await expectRefused(await sign(claims, { kid: undefined }), 'no kid');
        await expectRefused(await sign(claims, { kid: rs256.kid }, es256), 'ES256 signature under an RS256 kid');
        await expectRefused(await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: rs256.kid, typ: 'at+jwt' }).sign(foreign.privateKey), 'foreign key, our kid');
        await expectRefused(await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', jwk: foreignJwk, typ: 'at+jwt' }).sign(foreign.privateKey), 'embedded jwk');
      }
    });

    it('refuses a user token at the admin API even with the admin scope, and a client_credentials token at UserInfo', async () => {
      const asAdmin = await t.http.get('/admin/clients').auth(await sign({ ...adminClaims(), sub: user.id, sid: randomUUID() }), { type: 'bearer' });
      expect(asAdmin.status).toBe(401);
      const userinfo = await t.http.get('/oauth2/userinfo').auth(admin, { type: 'bearer' });
      expect(userinfo.status).toBe(401);
    });
  });

  describe('RFC 6750 §3.1 challenges', () => {
    const ENDPOINTS = [
      (h: TestApp['http']) => h.get('/oauth2/userinfo'),
      (h: TestApp['http']) => h.post('/oidc/me'),
      (h: TestApp['http']) => h.get('/admin/clients'),
      (h: TestApp['http']) => h.put('/admin/policy'),
      (h: TestApp['http']) => h.post('/admin/keys/rotate'),
    ];

    it('answers a request without a token with the bare challenge: realm, no error code', async () => {
      for (const endpoint of ENDPOINTS) {
        for (const authorization of [undefined, `Basic ${Buffer.from('a:b').toString('base64')}`, 'Digest username="a"']) {
          const req = endpoint(t.http);
          if (authorization) req.set('Authorization', authorization);
          const res = await req;
          expect(res.status).toBe(401);
          expect(res.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
          expect(res.body).toEqual({ error: 'invalid_token', error_description: 'A bearer access token is required' });
          expect(res.headers['cache-control']).toBe('no-store');
        }
      }
    });

    it('keeps error="invalid_token" for a token that is malformed, unknown or expired', async () => {
      for (const endpoint of ENDPOINTS) {
        for (const token of ['not-a-token', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln', 'x'.repeat(43)]) {
          const res = await endpoint(t.http).auth(token, { type: 'bearer' });
          expect(res.status).toBe(401);
          expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token", error_description="The access token is invalid or expired"');
        }
        const empty = await endpoint(t.http).set('Authorization', 'Bearer ');
        expect(empty.status).toBe(401);
        expect(empty.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
      }
    });
  });

  describe('secrets at rest, in audit events and in logs (KEY_ENCRYPTION_SECRET set)', () => {
    const KEK = 'kek-for-the-security-review-0123456789abcdef';
    let k: Awaited<ReturnType<typeof startApp>>;
    /** Everything the app writes to stdout or stderr outside its JSON logs (console.*, stray writes). */
    const logged: string[] = [];
    /** The app's JSON log lines, at every level (LOG_LEVEL=verbose, Nest's alias of trace), from start-up on. */
    const logs = captureLogs();
    const stdio: jest.SpyInstance[] = [];

    beforeAll(async () => {
      for (const stream of [process.stdout, process.stderr]) {
        const write = stream.write.bind(stream);
        stdio.push(
          jest.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
            logged.push(`stdio ${typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')}`);
            return write(chunk, ...(rest as []));
          }) as typeof stream.write),
        );
      }
      k = await startApp({ env: { KEY_ENCRYPTION_SECRET: KEK, LOG_LEVEL: 'verbose' }, logStream: logs.stream });
    });
    afterAll(async () => {
      for (const spy of stdio) spy.mockRestore();
      await k.close();
    });

    async function dumpDatabase(t: TestApp): Promise<Record<string, unknown[]>> {
      const tables: { name: string }[] =
        testStore() === 'mysql'
          ? await t.db.query('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()')
          : await t.db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
      const dump: Record<string, unknown[]> = {};
      for (const { name } of tables) dump[name] = await t.db.query(`SELECT * FROM ${testStore() === 'mysql' ? `\`${name}\`` : `"${name}"`}`);
      return dump;
    }

    it('stores no usable secret, token, code or password; encrypts private keys; audits and logs none of them', async () => {
      const secrets: Record<string, string> = { KEY_ENCRYPTION_SECRET: KEK, ADMIN_CLIENT_SECRET: 'test-admin-secret-0123456789abcdefghij' };
      const admin = await k.adminToken();
      secrets.admin_access_token = admin;

      // Clients: a supplied secret, a generated one, a rotated one.
      const supplied = 'supplied-client-secret-0123456789-abcdefghijklmnop';
      const app = await createClient(k, {
        client_secret: supplied,
        grant_types: ['password', 'authorization_code', 'refresh_token', 'client_credentials'],
        redirect_uris: [CB],
        scope: 'openid profile email offline_access api',
        access_token_format: 'opaque',
      });
      const generated = await createClient(k, { token_endpoint_auth_method: 'client_secret_post', grant_types: ['client_credentials'] });
      secrets.supplied_client_secret = supplied;
      secrets.generated_client_secret = generated.client_secret!;
      const rotated = await k.http.post(`/admin/clients/${app.client_id}/secret`).auth(admin, { type: 'bearer' });
      expect(rotated.status).toBe(200);
      const appSecret = rotated.body.client_secret as string;
      secrets.rotated_client_secret = appSecret;
      const basicAuth = { id: app.client_id, secret: appSecret };

      // Users: a password at creation, one set by an admin, a wrong one tried at the token endpoint and on the page.
      const initial = 'initial-password-Zq8!x';
      const person = await createUser(k, { password: initial, email: `${unique('secret')}@example.com` });
      const current = 'current-password-Pv3#y';
      expect((await k.http.post(`/admin/users/${person.id}/password`).auth(admin, { type: 'bearer' }).send({ password: current })).status).toBe(200);
      Object.assign(secrets, { initial_password: initial, current_password: current, wrong_password: 'wrong-password-Ku7$w' });
      const wrong = await tokenRequest(k, { grant_type: 'password', username: person.username as string, password: secrets.wrong_password }, basicAuth);
      expect(wrong.body.error_description).toBe('Bad credentials');

      // Password grant: opaque access token, refresh token, id_token; then a refresh.
      const login = await tokenRequest(k, { grant_type: 'password', username: person.username as string, password: current, scope: 'openid email offline_access' }, basicAuth);
      expect(login.status).toBe(200);
      Object.assign(secrets, { opaque_access_token: login.body.access_token, refresh_token: login.body.refresh_token, id_token: login.body.id_token });
      const refreshed = await tokenRequest(k, { grant_type: 'refresh_token', refresh_token: login.body.refresh_token, token_format: 'jwt' }, basicAuth);
      expect(refreshed.status).toBe(200);
      Object.assign(secrets, { jwt_access_token: refreshed.body.access_token, rotated_refresh_token: refreshed.body.refresh_token });

      // Authorization codes: one redeemed, one left; the login form's CSRF token and cookie.
      const { form } = await openLoginPage(k, { response_type: 'code', client_id: app.client_id, redirect_uri: CB, state: 's' });
      secrets.csrf_token_mac = form.hidden.csrf_token.split('.')[1];
      secrets.login_cookie = form.cookie.split('=')[1];
      const failed = await submitLogin(k, form, { username: person.username as string, password: 'page-wrong-password-Ab1' });
      expect(pageAlert(failed.text)).toBe('Bad credentials');
      secrets.page_wrong_password = 'page-wrong-password-Ab1';
      const redeemed = await loginForCode(k, { response_type: 'code', client_id: app.client_id, redirect_uri: CB, scope: 'openid offline_access' }, { username: person.username as string, password: current });
      const left = await loginForCode(k, { response_type: 'code', client_id: app.client_id, redirect_uri: CB }, { username: person.username as string, password: current });
      Object.assign(secrets, { redeemed_code: redeemed.code, unredeemed_code: left.code });
      const exchanged = await tokenRequest(k, { grant_type: 'authorization_code', code: redeemed.code, redirect_uri: CB }, basicAuth);
      expect(exchanged.status).toBe(200);
      Object.assign(secrets, { code_access_token: exchanged.body.access_token, code_refresh_token: exchanged.body.refresh_token });

      // Introspection and revocation, client_credentials with client_secret_post.
      expect((await k.http.post('/oauth2/introspect').auth(app.client_id, appSecret).type('form').send({ token: refreshed.body.refresh_token })).body.active).toBe(true);
      expect((await k.http.post('/oauth2/revoke').auth(app.client_id, appSecret).type('form').send({ token: exchanged.body.refresh_token })).status).toBe(200);
      const cc = await k.http.post('/oauth2/token').type('form').send({ grant_type: 'client_credentials', client_id: generated.client_id, client_secret: generated.client_secret });
      expect(cc.status).toBe(200);
      secrets.client_credentials_token = cc.body.access_token;
      // RFC 6750 §2.3 lets a token travel in the query string: the logged URL keeps the name, not the value.
      await k.http.get(`/oauth2/userinfo?access_token=${encodeURIComponent(cc.body.access_token)}&x-check=1`);

      // Every row of every table.
      const dump = await dumpDatabase(k);
      expect(Object.keys(dump)).toEqual(expect.arrayContaining(['clients', 'users', 'access_tokens', 'refresh_tokens', 'authorization_codes', 'token_families', 'audit_events', 'keys']));
      const stored = JSON.stringify(dump);
      for (const [name, value] of Object.entries(secrets)) {
        expect({ name, inDatabase: stored.includes(value) }).toEqual({ name, inDatabase: false });
      }
      // Rows exist for what was issued: only their digests.
      expect(dump.access_tokens.length).toBeGreaterThan(0);
      expect(dump.refresh_tokens.length).toBeGreaterThanOrEqual(3);
      expect(dump.authorization_codes).toHaveLength(2);
      for (const row of dump.users as { password_hash: string }[]) expect(row.password_hash).toMatch(/^\$argon2id\$/);
      for (const row of dump.clients as { secret_digest: string | null }[]) expect(row.secret_digest === null || /^[0-9a-f]{64}$/.test(row.secret_digest)).toBe(true);

      // Private keys (signing keys and server secrets) are encrypted under KEY_ENCRYPTION_SECRET.
      const keys = dump.keys as { kid: string; purpose: string; private_key: string; private_key_encrypted: unknown }[];
      expect(keys.map((key) => key.purpose)).toEqual(expect.arrayContaining(['signing', 'secret']));
      for (const key of keys) {
        expect({ kid: key.kid, encrypted: Boolean(Number(key.private_key_encrypted)) }).toEqual({ kid: key.kid, encrypted: true });
        expect(key.private_key).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
        expect(key.private_key).not.toContain('PRIVATE KEY');
      }

      // The audit trail, as the admin API shows it.
      const audit = await k.http.get('/admin/audit-events?limit=1000').auth(admin, { type: 'bearer' });
      expect(audit.status).toBe(200);
      expect(audit.body.length).toBeGreaterThan(10);
      const auditText = JSON.stringify(audit.body);
      for (const [name, value] of Object.entries(secrets)) {
        expect({ name, inAudit: auditText.includes(value) }).toEqual({ name, inAudit: false });
      }

      // The logs, at every level, from start-up on: JSON lines, and anything else written to stdio.
      const entries = logs.entries();
      // The capture works: start-up messages, Nest's route mapping (debug) and one line per request are in it.
      expect(entries).toContainEqual(expect.objectContaining({ level: 'info', context: 'KeysService', msg: 'Generated RS256 signing key' }));
      expect(entries).toContainEqual(expect.objectContaining({ level: 'debug', context: 'RouterExplorer', msg: expect.stringMatching(/^Mapped \{\/oauth2\/token, POST\}/) }));
      const requests = entries.filter((entry) => entry.msg === 'request completed');
      expect(requests.length).toBeGreaterThan(20);
      expect(requests).toContainEqual(expect.objectContaining({ req: expect.objectContaining({ method: 'POST', url: '/oauth2/token' }), res: { statusCode: 200 } }));
      // A request line names the request, never its headers or body.
      for (const { req } of requests) expect(Object.keys(req as object).sort()).toEqual(['id', 'method', 'remoteAddress', 'url']);
      expect(requests).toContainEqual(expect.objectContaining({ req: expect.objectContaining({ url: '/oauth2/userinfo?access_token=[Redacted]&x-check=1' }) }));
      const logText = `${logs.text()}\n${logged.join('\n')}`;
      for (const [name, value] of Object.entries(secrets)) {
        expect({ name, inLogs: logText.includes(value) }).toEqual({ name, inLogs: false });
      }
    });
  });

  describe('database outage mid-run (SPEC §3.1: 503 temporarily_unavailable)', () => {
    it('answers every endpoint that needs the database with 503, never 500 or a stale answer; readiness fails; public keys stay served', async () => {
      const o = await startApp();
      const app = await createClient(o, {
        grant_types: ['password', 'authorization_code', 'refresh_token', 'client_credentials'],
        redirect_uris: [CB],
        scope: 'openid offline_access',
      });
      const basicAuth = { id: app.client_id, secret: app.client_secret! };
      const person = await createUser(o);
      const credentials = { username: person.username as string, password: person.password };
      const login = await tokenRequest(o, { grant_type: 'password', ...credentials, scope: 'openid offline_access' }, basicAuth);
      const opaque = await tokenRequest(o, { grant_type: 'password', ...credentials, scope: 'openid', token_format: 'opaque' }, basicAuth);
      const { code } = await loginForCode(o, { response_type: 'code', client_id: app.client_id, redirect_uri: CB }, credentials);
      const { form } = await openLoginPage(o, { response_type: 'code', client_id: app.client_id, redirect_uri: CB });
      const admin = await o.adminToken();
      const [, payload, signature] = (login.body.access_token as string).split('.');
      const unknownKid = `${base64url.encode(JSON.stringify({ alg: 'RS256', kid: 'unknown-kid', typ: 'at+jwt' }))}.${payload}.${signature}`;
      const jwksBefore = (await o.http.get('/oauth2/jwks')).body;

      await o.db.destroy();
      // Clients, the policy and signing keys are served from memory for CACHE_TTL_SECONDS (5 s by
      // default), by design: past that, nothing is answered from what was read before the outage.
      o.clock.advance(5_001);
      try {
        const UNAVAILABLE = { error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable' };
        const json = [
          ['client_credentials', tokenRequest(o, { grant_type: 'client_credentials' }, basicAuth)],
          ['password', tokenRequest(o, { grant_type: 'password', ...credentials }, basicAuth)],
          ['authorization_code', tokenRequest(o, { grant_type: 'authorization_code', code, redirect_uri: CB }, basicAuth)],
          ['refresh_token', tokenRequest(o, { grant_type: 'refresh_token', refresh_token: login.body.refresh_token }, basicAuth)],
          ['public client', o.http.post('/oidc/token').type('form').send({ grant_type: 'refresh_token', client_id: 'some-public-client', refresh_token: 'x' })],
          ['introspect', o.http.post('/oauth2/introspect').auth(app.client_id, app.client_secret!).type('form').send({ token: login.body.access_token })],
          ['revoke', o.http.post('/oauth2/revoke').auth(app.client_id, app.client_secret!).type('form').send({ token: login.body.refresh_token })],
          ['userinfo, JWT', o.http.get('/oauth2/userinfo').auth(login.body.access_token, { type: 'bearer' })],
          ['userinfo, JWT with a kid to look up', o.http.get('/oauth2/userinfo').auth(unknownKid, { type: 'bearer' })],
          ['userinfo, opaque', o.http.post('/oidc/me').type('form').send({ access_token: opaque.body.access_token })],
          ['admin API', o.http.get('/admin/users').auth(admin, { type: 'bearer' })],
        ] as const;
        for (const [name, pending] of json) {
          const res = await pending;
          expect({ name, status: res.status, body: res.body, retryAfter: res.headers['retry-after'] }).toEqual({ name, status: 503, body: UNAVAILABLE, retryAfter: '5' });
          expect({ name, cache: res.headers['cache-control'], pragma: res.headers.pragma }).toEqual({ name, cache: 'no-store', pragma: 'no-cache' });
        }

        // The browser endpoints answer with a page.
        for (const res of [
          await o.http.get(authorizePath({ response_type: 'code', client_id: app.client_id, redirect_uri: CB })),
          await submitLogin(o, form, credentials),
        ]) {
          expect(res.status).toBe(503);
          expect(res.headers['retry-after']).toBe('5');
          expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
          expect(res.headers['cache-control']).toBe('no-store');
          expect(res.headers.location).toBeUndefined();
          expect(pageAlert(res.text)).toBe('The service is temporarily unavailable. Please try again in a moment.');
        }

        expect((await o.http.get('/health/ready')).status).toBe(503);
        expect((await o.http.get('/health/live')).status).toBe(200);
        // Relying parties can still verify the tokens already issued.
        const jwks = await o.http.get('/oauth2/jwks');
        expect(jwks.status).toBe(200);
        expect(jwks.body).toEqual(jwksBefore);
        expect((await o.http.get('/.well-known/openid-configuration')).status).toBe(200);
      } finally {
        await o.db.initialize();
      }
      try {
        // Nothing was half-done: the code and the refresh token work once the database is back.
        expect((await tokenRequest(o, { grant_type: 'authorization_code', code, redirect_uri: CB }, basicAuth)).status).toBe(200);
        expect((await tokenRequest(o, { grant_type: 'refresh_token', refresh_token: login.body.refresh_token }, basicAuth)).status).toBe(200);
        expect((await o.http.get('/health/ready')).status).toBe(200);
      } finally {
        await o.close();
      }
    });
  });

  describe('Unicode in the database, whatever its default character set', () => {
    it('stores and finds 4-byte characters, NUL and every script in a database created as latin1 (MariaDB\'s default)', async () => {
      const u = await startApp({ database: await createTestDatabase({ mysqlCharset: 'latin1' }) });
      try {
        const admin = await u.adminToken();
        const clientName = 'Émoji 😀 应用 \u0000 \u202e';
        const created = await u.http
          .post('/admin/clients')
          .auth(admin, { type: 'bearer' })
          .send({ client_name: clientName, grant_types: ['password'], scope: 'openid profile', access_token_audience: 'aud-𝔘' });
        expect(created.status).toBe(201);
        expect(created.body.client_name).toBe(clientName);
        const username = `jürgen😀${unique('u')}`;
        const name = 'Jürgen 😀 Ω 中文 𝔘𝔫𝔦 \u0000';
        const person = await u.http
          .post('/admin/users')
          .auth(admin, { type: 'bearer' })
          .send({ username, password: 'pässwörd-😀-123', name, groups: ['grüppe-😀'], address: { locality: 'Zürich 🏔' } });
        expect(person.status).toBe(201);
        expect((await u.http.get(`/admin/clients/${created.body.client_id}`).auth(admin, { type: 'bearer' })).body.client_name).toBe(clientName);

        const login = await tokenRequest(u, { grant_type: 'password', username: username.toUpperCase(), password: 'pässwörd-😀-123', scope: 'openid profile' }, {
          id: created.body.client_id,
          secret: created.body.client_secret,
        });
        expect(login.status).toBe(200);
        const userinfo = await u.http.get('/oauth2/userinfo').auth(login.body.access_token, { type: 'bearer' });
        expect(userinfo.body).toMatchObject({ sub: person.body.id, name, preferred_username: username });
        const search = await u.http.get(`/admin/users?search=${encodeURIComponent('😀')}`).auth(admin, { type: 'bearer' });
        expect(search.body.map((x: { id: string }) => x.id)).toEqual([person.body.id]);
        // An unknown 4-byte identifier is just an unknown user.
        const unknown = await tokenRequest(u, { grant_type: 'password', username: '中文😀', password: 'x' }, { id: created.body.client_id, secret: created.body.client_secret });
        expect(unknown.body).toEqual({ error: 'invalid_grant', error_description: 'Bad credentials' });

        if (testStore() === 'mysql') {
          const narrow = await u.db.query(
            "SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND CHARACTER_SET_NAME IS NOT NULL AND CHARACTER_SET_NAME <> 'utf8mb4'",
          );
          expect(narrow).toEqual([]);
          const exact = await u.db.query(
            "SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME) AS col FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND COLLATION_NAME = 'utf8mb4_bin' ORDER BY col",
          );
          expect(exact.map((r: { col: string }) => r.col)).toEqual([
            'browser_session_clients.client_id',
            'clients.client_id',
            'logout_notifications.client_id',
            'users.email',
            'users.id',
            'users.phone_number',
            'users.username',
          ]);
        }
      } finally {
        await u.close();
      }
    });
  });

  describe('timing: unknown and known identities do the same work (SPEC §3.2, §3.3)', () => {
    /**
     * The SQL statements (without their parameters) the app runs during `action`, in order. Each
     * measurement starts with the caches of clients and the policy expired (the clock moved past
     * CACHE_TTL_SECONDS): a client used in the last seconds answers from memory, an unknown one
     * always reads, which tells nothing secret (client ids are not secrets, RFC 6749 §2.2; see
     * docs/decisions.md), so compared here is the work after the cache, the same for both.
     */
    async function statements(action: () => Promise<unknown>): Promise<string[]> {
      t.clock.advance(5_001);
      const runner = t.db.createQueryRunner();
      const proto = Object.getPrototypeOf(runner) as { query: (...args: unknown[]) => unknown };
      await runner.release();
      // TypeORM's statements, and the hand-written ones of SqlRunner (reads, autocommit writes, the
      // writes of its atomic units), in the order they were issued.
      const sqlRunner = t.app.get(SqlRunner) as unknown as Record<'get' | 'all' | 'run' | 'executeStep' | 'executeStepAsync', (...args: unknown[]) => unknown>;
      const spies = [jest.spyOn(proto, 'query'), ...(['get', 'all', 'run', 'executeStep', 'executeStepAsync'] as const).map((name) => jest.spyOn(sqlRunner, name))];
      try {
        await action();
        const calls = spies.flatMap((spy) => spy.mock.calls.map((args, i) => ({ order: spy.mock.invocationCallOrder[i], sql: typeof args[0] === 'string' ? args[0] : (args[0] as { sql: string }).sql })));
        // Instants are inlined as epoch milliseconds: they differ from one call to the next.
        return calls.sort((x, y) => x.order - y.order).map(({ sql }) => String(sql).replace(/\s+/g, ' ').replace(/\b\d{12,}\b/g, '<ms>').trim());
      } finally {
        for (const spy of spies) spy.mockRestore();
      }
    }
    const basicAuth = () => ({ id: confidential.client_id, secret: confidential.client_secret! });

    it('an unknown user costs the same statements and an argon2 verification, as a wrong password does', async () => {
      const known = await createUser(t);
      // The module object the app calls through (an ES namespace import would be a copy).
      const argon2Verify = jest.spyOn(require('@node-rs/argon2') as typeof import('@node-rs/argon2'), 'verify');
      const wrong = await statements(async () => {
        const res = await tokenRequest(t, { grant_type: 'password', username: known.username as string, password: 'wrong password' }, basicAuth());
        expect(res.body.error_description).toBe('Bad credentials');
      });
      const unknown = await statements(async () => {
        const res = await tokenRequest(t, { grant_type: 'password', username: unique('nobody'), password: 'wrong password' }, basicAuth());
        expect(res.body.error_description).toBe('Bad credentials');
      });
      expect(unknown).toEqual(wrong);
      expect(unknown.filter((sql) => sql.includes('login_throttle'))).toHaveLength(2);
      // One argon2id verification each: against the user's hash, and against the dummy hash.
      expect(argon2Verify).toHaveBeenCalledTimes(2);
      expect(argon2Verify.mock.calls.map(([hash]) => String(hash).slice(0, 31))).toEqual(Array(2).fill('$argon2id$v=19$m=19456,t=2,p=1$'));
      argon2Verify.mockRestore();
      // The login page runs the same login.
      const { form } = await openLoginPage(t, { response_type: 'code', client_id: confidential.client_id, redirect_uri: CB });
      const pageWrong = await statements(() => submitLogin(t, form, { username: known.username as string, password: 'wrong password' }));
      const pageUnknown = await statements(() => submitLogin(t, form, { username: unique('nobody'), password: 'wrong password' }));
      expect(pageUnknown).toEqual(pageWrong);
      await t.http.post(`/admin/users/${known.id}/unlock`).auth(await t.adminToken(), { type: 'bearer' });
    });

    it('an unknown client costs the same statements as a wrong secret, with Basic and with client_secret_post', async () => {
      const viaBasic = (id: string, secret: string) => tokenRequest(t, { grant_type: 'client_credentials' }, { id, secret });
      const wrongSecret = await statements(() => viaBasic(confidential.client_id, 'x'.repeat(43)));
      const unknownClient = await statements(() => viaBasic(unique('no-client'), 'x'.repeat(43)));
      expect(unknownClient).toEqual(wrongSecret);
      const viaPost = (id: string, secret: string) => t.http.post('/oauth2/token').type('form').send({ grant_type: 'client_credentials', client_id: id, client_secret: secret });
      expect(await statements(() => viaPost(unique('no-client'), 'x'.repeat(43)))).toEqual(await statements(() => viaPost(postClient.client_id, 'x'.repeat(43))));
    });
  });

  describe('per-IP throttling of failed logins (SPEC §3.3: "per-IP rate limiting covers" unknown identifiers)', () => {
    let r: Awaited<ReturnType<typeof startApp>>;
    let app: CreatedClient;
    beforeAll(async () => {
      // The client address comes from X-Forwarded-For, believed from the test's own address.
      r = await startApp({ env: { LOGIN_RATE_LIMIT: '5', TRUSTED_PROXIES: '127.0.0.1' } });
      // A public client: its requests come from the end user's device, so they count per address
      // (a confidential client's count per client: login-throttling suite).
      app = await createClient(r, { token_endpoint_auth_method: 'none', grant_types: ['password', 'authorization_code'], redirect_uris: [CB] });
    });
    afterAll(() => r.close());

    const from = (ip: string, form: Record<string, string>) =>
      r.http.post('/oauth2/token').set('X-Forwarded-For', ip).type('form').send({ ...form, client_id: app.client_id });
    const login = (ip: string, user: CreatedUser, password = user.password) => from(ip, { grant_type: 'password', username: user.username as string, password });

    it('after LOGIN_RATE_LIMIT failed logins from one address in a minute, refuses every login from it with 429 before hashing, until the minute is over', async () => {
      const victim = await createUser(r);
      const other = await createUser(r);
      const ip = '203.0.113.7';
      // Password spraying: unknown users and wrong passwords, all different identifiers.
      for (const res of [
        await from(ip, { grant_type: 'password', username: unique('nobody'), password: 'Winter2026!' }),
        await from(ip, { grant_type: 'password', email: `${unique('nobody')}@example.com`, password: 'Winter2026!' }),
        await from(ip, { grant_type: 'password', phone: '+15550000000', password: 'Winter2026!' }),
        await login(ip, victim, 'Winter2026!'),
        await login(ip, other, 'Winter2026!'),
      ]) {
        expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'Bad credentials' });
      }

      const argon2Verify = jest.spyOn(require('@node-rs/argon2') as typeof import('@node-rs/argon2'), 'verify');
      try {
        const refused = await login(ip, other);
        expect(refused.status).toBe(429);
        expect(refused.body).toEqual({ error: 'too_many_requests', error_description: 'Too many failed logins from this address. Try again later.' });
        expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
        expect(refused.headers['cache-control']).toBe('no-store');
        expect(argon2Verify).not.toHaveBeenCalled();
      } finally {
        argon2Verify.mockRestore();
      }
      // The refused attempt touched no account.
      const [row] = await r.db.query('SELECT failed_login_count FROM users WHERE id = ?', [other.id]);
      expect(Number(row.failed_login_count)).toBe(1);

      // The login page says the same, with 429.
      const { challenge } = pkcePair();
      const { form } = await openLoginPage(r, { response_type: 'code', client_id: app.client_id, redirect_uri: CB, code_challenge: challenge, code_challenge_method: 'S256' });
      const page = await submitLogin(r, form, { username: other.username as string, password: other.password }).set('X-Forwarded-For', ip);
      expect(page.status).toBe(429);
      expect(pageAlert(page.text)).toBe('Too many failed logins from this address. Try again later.');

      // Another address is not affected; successes do not count.
      for (let i = 0; i < 8; i++) expect((await login('203.0.113.8', other)).status).toBe(200);

      // The next minute, the address may try again.
      r.clock.advance(60_000);
      expect((await login(ip, other)).status).toBe(200);

      // No address is stored, only a digest per address and minute; the purge removes old windows.
      const rows = await r.db.query('SELECT * FROM login_throttle');
      expect(JSON.stringify(rows)).not.toContain('203.0.113');
      expect(rows.some((x: { failures: unknown }) => Number(x.failures) === 5)).toBe(true);
      r.clock.advance(10 * 60_000);
      expect((await r.app.get(PurgeService).purgeExpired()).loginThrottle).toBe(rows.length);
    });

    it('counts concurrent failures atomically', async () => {
      const ip = '203.0.113.20';
      // The counters are per minute: the burst starts a second into one, so that it cannot straddle
      // two windows (it did once in CI: 3 failures counted in one minute, 9 in the next).
      r.clock.advance(60_000 - (r.clock.nowMs() % 60_000) + 1_000);
      const responses = await Promise.all(Array.from({ length: 12 }, () => from(ip, { grant_type: 'password', username: unique('nobody'), password: 'x' })));
      for (const res of responses) expect([400, 429]).toContain(res.status);
      expect(responses.filter((res) => res.status === 400).length).toBeGreaterThanOrEqual(5);
      // Every attempt that got past the check was counted, none twice.
      const rows = await r.db.query('SELECT failures FROM login_throttle');
      expect(rows.map((x: { failures: unknown }) => Number(x.failures))).toContain(responses.filter((res) => res.status === 400).length);
      expect((await from(ip, { grant_type: 'password', username: unique('nobody'), password: 'x' })).status).toBe(429);
    });
  });

  describe('admin API: every operation needs an admin client\'s token', () => {
    it('refuses every admin route of the OpenAPI document without a token, with a non-admin client\'s token, and with a user\'s token', async () => {
      const doc = (await t.http.get('/docs-json')).body as { paths: Record<string, Record<string, unknown>> };
      const operations = Object.entries(doc.paths)
        .filter(([path]) => path.startsWith('/admin'))
        .flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method, path: path.replace(/\{[^}]+\}/g, 'x') })));
      expect(operations.length).toBeGreaterThanOrEqual(19);

      const service = await createClient(t, { grant_types: ['client_credentials'], scope: 'api:read' });
      const serviceToken = (await tokenRequest(t, { grant_type: 'client_credentials' }, { id: service.client_id, secret: service.client_secret! })).body.access_token as string;
      // A client allowed the admin scope for its users: their tokens still are not admin tokens.
      const userAdmin = await createClient(t, { grant_types: ['password'], scope: 'admin openid' });
      const userToken = (await tokenRequest(t, { grant_type: 'password', username: user.username as string, password: user.password, scope: 'admin openid' }, { id: userAdmin.client_id, secret: userAdmin.client_secret! })).body.access_token as string;
      expect(userToken).toEqual(expect.any(String));

      for (const { method, path } of operations) {
        const call = (token?: string) => {
          const req = (t.http as unknown as Record<string, (p: string) => ReturnType<TestApp['http']['get']>>)[method](path);
          return token ? req.auth(token, { type: 'bearer' }) : req;
        };
        expect({ method, path, status: (await call()).status }).toEqual({ method, path, status: 401 });
        expect({ method, path, status: (await call(serviceToken)).status }).toEqual({ method, path, status: 403 });
        expect({ method, path, status: (await call(userToken)).status }).toEqual({ method, path, status: 403 });
      }
    });
  });
});

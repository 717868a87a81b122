import { createHash } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { ISSUER, startApp, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, unique, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { authorizePath, loginForCode, openLoginPage, pageAlert, parseLoginForm, pkcePair, submitLogin } from '../support/login-form';

const CB = 'https://app.example/callback';
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

describe('Authorization-code flow (SPEC §3.4, §5)', () => {
  let t: Awaited<ReturnType<typeof startApp>>;
  let confidential: CreatedClient;
  let postClient: CreatedClient;
  let publicClient: CreatedClient;
  let user: CreatedUser;

  beforeAll(async () => {
    t = await startApp();
    confidential = await createClient(t, {
      client_name: 'Demo <App>',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [CB, 'https://app.example/other'],
      scope: 'openid profile email offline_access api:read',
      default_scope: 'openid profile',
    });
    postClient = await createClient(t, { token_endpoint_auth_method: 'client_secret_post', grant_types: ['authorization_code'], redirect_uris: [CB] });
    publicClient = await createClient(t, { token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: [CB] });
    user = await createUser(t, { email: `${unique('alice')}@example.com`, name: 'Alice Example' });
  });
  afterAll(() => t.close());

  const basic = (c: CreatedClient = confidential) => ({ id: c.client_id, secret: c.client_secret! });
  const credentials = (u: CreatedUser = user) => ({ username: u.username as string, password: u.password });
  const request = (client: CreatedClient, extra: Record<string, string | undefined> = {}) => ({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: CB,
    state: 'st-123',
    ...extra,
  });
  const redirectParams = (res: { headers: Record<string, string> }) => {
    const location = new URL(res.headers.location);
    return { base: `${location.origin}${location.pathname}`, params: Object.fromEntries(location.searchParams) };
  };

  async function jwks(): Promise<ReturnType<typeof createLocalJWKSet>> {
    const res = await t.http.get('/oauth2/jwks');
    return createLocalJWKSet(res.body as JSONWebKeySet);
  }

  /** Whether UserInfo accepts the access token (200) or refuses it (401 invalid_token). */
  async function tokenStatus(accessToken: string): Promise<'active' | 'rejected'> {
    const res = await t.http.get('/oauth2/userinfo').auth(accessToken, { type: 'bearer' });
    if (res.status === 200) return 'active';
    if (res.status === 401) return 'rejected';
    throw new Error(`unexpected ${res.status}`);
  }

  describe('GET /oauth2/authorize: the login page', () => {
    it('shows a form with username, password, a CSRF token and the request in hidden fields, with security headers', async () => {
      const res = await t.http.get(authorizePath(request(confidential, { scope: 'openid email', nonce: 'n-1' })));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      const csp = res.headers['content-security-policy'];
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("form-action 'self' https://app.example");
      expect(csp).not.toMatch(/script-src|unsafe-inline|unsafe-eval/);
      expect(res.text).not.toMatch(/<script/i);
      const cookie = ([] as string[]).concat(res.headers['set-cookie'])[0];
      expect(cookie).toMatch(/^gatehouse_login=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);

      expect(res.text).toContain('<form method="post" action="/oauth2/authorize">');
      expect(res.text).toMatch(/<label for="username">[^<]+<\/label>\s*<input id="username" name="username" type="text"/);
      expect(res.text).toMatch(/<label for="password">Password<\/label>\s*<input id="password" name="password" type="password"/);
      expect(res.text).toContain('<button type="submit" name="action" value="login">Sign in</button>');
      expect(res.text).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
      // The client's name is shown escaped.
      expect(res.text).toContain('to continue to <strong>Demo &#60;App&#62;</strong>');
      const form = parseLoginForm(res);
      expect(form.hidden).toEqual({
        response_type: 'code',
        client_id: confidential.client_id,
        redirect_uri: CB,
        scope: 'openid email',
        state: 'st-123',
        nonce: 'n-1',
        csrf_token: expect.stringMatching(/^\d+\.[A-Za-z0-9_-]{43}$/),
      });
    });

    it('answers on the alias /oidc/auth, whose form posts back to it', async () => {
      const res = await t.http.get(authorizePath(request(confidential), '/oidc/auth'));
      expect(res.status).toBe(200);
      expect(parseLoginForm(res).action).toBe('/oidc/auth');
    });

    it('accepts a form-serialized authorization request by POST (OIDC Core §3.1.2.1)', async () => {
      const res = await t.http.post('/oauth2/authorize').type('form').send(request(confidential));
      expect(res.status).toBe(200);
      expect(parseLoginForm(res).hidden.client_id).toBe(confidential.client_id);
    });

    it('keeps the browser cookie it already has (two tabs can sign in at once)', async () => {
      const first = await openLoginPage(t, request(confidential));
      const second = await t.http.get(authorizePath(request(confidential, { state: 'tab-2' }))).set('Cookie', first.form.cookie);
      expect(second.status).toBe(200);
      expect(second.headers['set-cookie']).toBeUndefined();
    });

    it('pre-fills the username from login_hint, escaped', async () => {
      const res = await t.http.get(authorizePath(request(confidential, { login_hint: '"><b>x' })));
      expect(res.text).toContain('value="&#34;&#62;&#60;b&#62;x"');
      expect(res.text).not.toContain('<b>x');
    });

    it('uses the only registered redirect_uri when none is sent', async () => {
      const { form } = await openLoginPage(t, request(publicClient, { redirect_uri: undefined, ...pkceParams() }));
      expect(form.hidden.redirect_uri).toBeUndefined();
      const res = await submitLogin(t, form, credentials());
      expect(res.status).toBe(303);
      expect(res.headers.location.startsWith(`${CB}?code=`)).toBe(true);
    });
  });

  function pkceParams() {
    const { challenge } = pkcePair();
    return { code_challenge: challenge, code_challenge_method: 'S256' };
  }

  describe('errors shown as a page, never redirected (RFC 6749 §4.1.2.1)', () => {
    let disabled: CreatedClient;
    beforeAll(async () => {
      disabled = await createClient(t, { grant_types: ['authorization_code'], redirect_uris: [CB], disabled: true });
    });

    const cases: [string, () => Record<string, string | undefined>, string, string][] = [
      ['missing client_id', () => ({ response_type: 'code', redirect_uri: CB }), 'invalid_request', 'The request has no client_id.'],
      [
        'unknown client',
        () => ({ ...request(confidential), client_id: 'no-such-client' }),
        'invalid_client',
        'The application that sent you here is not registered (unknown client_id).',
      ],
      ['disabled client', () => request(disabled), 'invalid_client', 'The application that sent you here is disabled.'],
      [
        'unregistered redirect_uri',
        () => request(confidential, { redirect_uri: 'https://evil.example/callback' }),
        'invalid_request',
        'The redirect_uri is not registered for this application.',
      ],
      [
        'redirect_uri differing only by a trailing slash (exact match)',
        () => request(confidential, { redirect_uri: `${CB}/` }),
        'invalid_request',
        'The redirect_uri is not registered for this application.',
      ],
      [
        'missing redirect_uri with several registered',
        () => request(confidential, { redirect_uri: undefined }),
        'invalid_request',
        'The request has no redirect_uri, and the application has more than one registered.',
      ],
    ];

    it.each(cases)('%s', async (_name, params, error, message) => {
      const res = await t.http.get(authorizePath(params()));
      expect(res.status).toBe(400);
      expect(res.headers.location).toBeUndefined();
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['content-security-policy']).toContain("form-action 'none'");
      expect(pageAlert(res.text)).toBe(message);
      expect(res.text).toContain(`Error: <code>${error}</code>`);
    });

    it('refuses a repeated redirect_uri on the page', async () => {
      const res = await t.http.get(`${authorizePath(request(confidential))}&redirect_uri=${encodeURIComponent('https://evil.example/')}`);
      expect(res.status).toBe(400);
      expect(res.headers.location).toBeUndefined();
      expect(pageAlert(res.text)).toBe('The redirect_uri parameter must not be repeated.');
    });

    it('escapes whatever it echoes (no XSS through the parameters)', async () => {
      const res = await t.http.get(authorizePath({ ...request(confidential), client_id: '<script>alert(1)</script>' }));
      expect(res.status).toBe(400);
      expect(res.text).not.toContain('<script>');
    });

    it('refuses a body over the size limit before routing (413, no 5xx)', async () => {
      const res = await t.http.post('/oauth2/authorize').type('form').send(`client_id=${'x'.repeat(70 * 1024)}`);
      expect(res.status).toBe(413);
      expect(res.body).toEqual({ statusCode: 413, message: 'Request body is too large' });
    });

    it('answers a POST that is not form-encoded with a page', async () => {
      const res = await t.http.post('/oauth2/authorize').send({ client_id: confidential.client_id });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(pageAlert(res.text)).toBe('The request body must be application/x-www-form-urlencoded.');
    });
  });

  describe('errors redirected to the client with error, error_description and state', () => {
    let noCodeGrant: CreatedClient;
    let requirePkce: CreatedClient;
    let plainAllowed: CreatedClient;
    beforeAll(async () => {
      noCodeGrant = await createClient(t, { grant_types: ['client_credentials'], redirect_uris: [CB] });
      requirePkce = await createClient(t, { grant_types: ['authorization_code'], redirect_uris: [CB], require_pkce: true });
      plainAllowed = await createClient(t, { token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: [CB], allow_pkce_plain: true });
    });

    const challenge43 = 'a'.repeat(43);
    const cases: [string, () => Record<string, string | undefined>, string, string][] = [
      ['missing response_type', () => request(confidential, { response_type: undefined }), 'invalid_request', 'response_type is required'],
      ['response_type=token', () => request(confidential, { response_type: 'token' }), 'unsupported_response_type', 'Only response_type=code is supported'],
      [
        'client without the authorization_code grant',
        () => request(noCodeGrant),
        'unauthorized_client',
        'The client is not allowed to use the authorization_code grant',
      ],
      ['scope not allowed for the client', () => request(confidential, { scope: 'openid admin' }), 'invalid_scope', 'Scope not allowed for this client: admin'],
      [
        'public client without PKCE',
        () => request(publicClient),
        'invalid_request',
        'PKCE is required for public clients: send code_challenge and code_challenge_method=S256',
      ],
      [
        'require_pkce client without PKCE',
        () => request(requirePkce),
        'invalid_request',
        'PKCE is required for this client: send code_challenge and code_challenge_method=S256',
      ],
      [
        'plain PKCE for a client that does not allow it',
        () => request(publicClient, { code_challenge: challenge43, code_challenge_method: 'plain' }),
        'invalid_request',
        'code_challenge_method must be S256 (plain is not allowed for this client)',
      ],
      [
        'no code_challenge_method (RFC 7636: means plain)',
        () => request(publicClient, { code_challenge: challenge43 }),
        'invalid_request',
        'code_challenge_method must be S256 (plain is not allowed for this client)',
      ],
      [
        'unknown code_challenge_method',
        () => request(plainAllowed, { code_challenge: challenge43, code_challenge_method: 'S512' }),
        'invalid_request',
        'Unsupported code_challenge_method (use S256)',
      ],
      [
        'code_challenge shorter than 43 characters',
        () => request(publicClient, { code_challenge: 'a'.repeat(42), code_challenge_method: 'S256' }),
        'invalid_request',
        'code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, "-", ".", "_" and "~"',
      ],
      [
        'code_challenge longer than 128 characters',
        () => request(publicClient, { code_challenge: 'a'.repeat(129), code_challenge_method: 'S256' }),
        'invalid_request',
        'code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, "-", ".", "_" and "~"',
      ],
      [
        'code_challenge with characters outside the alphabet',
        () => request(publicClient, { code_challenge: `${'a'.repeat(42)}+`, code_challenge_method: 'S256' }),
        'invalid_request',
        'code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, "-", ".", "_" and "~"',
      ],
      [
        'code_challenge_method without code_challenge',
        () => request(confidential, { code_challenge_method: 'S256' }),
        'invalid_request',
        'code_challenge_method was sent without a code_challenge',
      ],
      ['prompt=none without a single sign-on session', () => request(confidential, { prompt: 'none' }), 'login_required', 'The user must sign in'],
      ['a request object', () => request(confidential, { request: 'eyJ.e30.' }), 'request_not_supported', 'The request parameter is not supported'],
      ['response_mode=fragment', () => request(confidential, { response_mode: 'fragment' }), 'invalid_request', 'Unsupported response_mode (use "query" or "form_post")'],
      ['a nonce over 512 characters', () => request(confidential, { nonce: 'n'.repeat(513) }), 'invalid_request', 'nonce must be at most 512 characters'],
    ];

    it.each(cases)('%s', async (_name, params, error, description) => {
      const res = await t.http.get(authorizePath(params()));
      expect(res.status).toBe(302);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(redirectParams(res)).toEqual({ base: CB, params: { error, error_description: description, state: 'st-123', iss: ISSUER } });
    });

    it('refuses a repeated parameter (without echoing an ambiguous state)', async () => {
      const res = await t.http.get(`${authorizePath(request(confidential))}&scope=openid&scope=profile`);
      expect(res.status).toBe(302);
      expect(redirectParams(res).params).toEqual({ error: 'invalid_request', error_description: 'Parameter "scope" must not be repeated', state: 'st-123', iss: ISSUER });
      const twoStates = await t.http.get(`${authorizePath(request(confidential))}&state=other`);
      expect(redirectParams(twoStates).params).toEqual({ error: 'invalid_request', error_description: 'Parameter "state" must not be repeated', iss: ISSUER });
    });

    it('omits state when the request had none, and keeps the query of the registered redirect_uri', async () => {
      const withQuery = 'https://app.example/cb?tenant=a%20b&x=1';
      const client = await createClient(t, { grant_types: ['authorization_code'], redirect_uris: [withQuery] });
      const res = await t.http.get(authorizePath({ response_type: 'token', client_id: client.client_id, redirect_uri: withQuery }));
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe(
        `${withQuery}&error=unsupported_response_type&error_description=Only+response_type%3Dcode+is+supported&iss=${encodeURIComponent(ISSUER)}`,
      );
    });

    it('allows plain PKCE for a client with allow_pkce_plain', async () => {
      const res = await t.http.get(authorizePath(request(plainAllowed, { code_challenge: challenge43, code_challenge_method: 'plain' })));
      expect(res.status).toBe(200);
    });
  });

  describe('POST: the login form', () => {
    it('redirects a correct login with a single-use code, stored only as its SHA-256 (303)', async () => {
      const { form } = await openLoginPage(t, request(confidential, { scope: 'openid email', nonce: 'nonce-1' }));
      const before = t.clock.nowMs();
      const res = await submitLogin(t, form, credentials());
      expect(res.status).toBe(303);
      expect(res.headers['cache-control']).toBe('no-store');
      const { base, params } = redirectParams(res);
      expect(base).toBe(CB);
      expect(params).toEqual({ code: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), state: 'st-123', iss: ISSUER });

      const rows = await t.db.query('SELECT * FROM authorization_codes WHERE code_hash = ?', [sha256(params.code)]);
      expect(rows).toHaveLength(1);
      const row = rows[0];
      expect(row).toMatchObject({
        client_id: confidential.client_id,
        user_id: user.id,
        redirect_uri: CB,
        scope: 'openid email',
        nonce: 'nonce-1',
        code_challenge: null,
        code_challenge_method: null,
        amr: 'pwd',
        consumed_at: null,
      });
      expect(Number(row.expires_at) - Number(row.created_at)).toBe(600_000);
      expect(Number(row.auth_time)).toBeGreaterThanOrEqual(before);
      const all = JSON.stringify(await t.db.query('SELECT * FROM authorization_codes'));
      expect(all).not.toContain(params.code);
    });

    it('logs in by email too (the username field matches username, email or phone)', async () => {
      const { code } = await loginForCode(t, request(confidential), { username: (user.email as string).toUpperCase(), password: user.password });
      expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('shows "Bad credentials" for a wrong password and an unknown user alike, and counts the failure', async () => {
      const victim = await createUser(t);
      const { form } = await openLoginPage(t, request(confidential));
      const wrong = await submitLogin(t, form, { username: victim.username as string, password: 'wrong password' });
      const unknown = await submitLogin(t, form, { username: 'nobody-at-all', password: 'wrong password' });
      for (const res of [wrong, unknown]) {
        expect(res.status).toBe(400);
        expect(res.headers.location).toBeUndefined();
        expect(res.headers['x-frame-options']).toBe('DENY');
        expect(pageAlert(res.text)).toBe('Bad credentials');
        expect(res.text).not.toContain('wrong password');
        // The form is shown again, ready for another attempt.
        expect(parseLoginForm(res, form.cookie).hidden.csrf_token).toEqual(expect.any(String));
      }
      expect(wrong.text).toContain(`value="${victim.username}"`);
      const [row] = await t.db.query('SELECT failed_login_count FROM users WHERE id = ?', [victim.id]);
      expect(Number(row.failed_login_count)).toBe(1);
      expect(await t.db.query('SELECT * FROM authorization_codes WHERE user_id = ?', [victim.id])).toEqual([]);
    });

    it('escapes the username it shows again (no XSS)', async () => {
      const { form } = await openLoginPage(t, request(confidential));
      const res = await submitLogin(t, form, { username: '"><script>alert(1)</script>', password: 'x' });
      expect(res.status).toBe(400);
      expect(res.text).not.toContain('<script>');
      expect(res.text).toContain('value="&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"');
    });

    it('locks the user after the policy threshold, exactly as the password grant does', async () => {
      const victim = await createUser(t);
      const { form } = await openLoginPage(t, request(confidential));
      for (let i = 0; i < 5; i++) {
        const res = await submitLogin(t, form, { username: victim.username as string, password: `wrong-${i}` });
        expect(pageAlert(res.text)).toBe('Bad credentials');
      }
      const locked = await submitLogin(t, form, credentials(victim));
      expect(locked.status).toBe(400);
      expect(pageAlert(locked.text)).toBe('User is locked');
      const [row] = await t.db.query('SELECT failed_login_count, locked_at FROM users WHERE id = ?', [victim.id]);
      expect(Number(row.failed_login_count)).toBe(5);
      expect(row.locked_at).not.toBeNull();
    });

    it.each([
      ['the account disabled', { disabled: true }, 'User is disabled'],
      ['an expired password', { password_expires_at: '2001-01-01T00:00:00Z' }, 'Password has expired'],
      ['an expired initial password', { password_is_initial: true, password_expires_at: '2001-01-01T00:00:00Z' }, 'Initial password has expired'],
      ['a password change required', { password_change_required: true }, 'Password change required'],
    ])('shows the password grant text for a user with %s', async (_name, flags, message) => {
      const account = await createUser(t, flags);
      const { form } = await openLoginPage(t, request(confidential));
      const res = await submitLogin(t, form, credentials(account));
      expect(res.status).toBe(400);
      expect(pageAlert(res.text)).toBe(message);
      expect(await t.db.query('SELECT * FROM authorization_codes WHERE user_id = ?', [account.id])).toEqual([]);
    });

    it('requires a username and a password, with the password grant texts', async () => {
      const { form } = await openLoginPage(t, request(confidential));
      const noUser = await submitLogin(t, form, { password: 'x' });
      expect(noUser.status).toBe(400);
      expect(pageAlert(noUser.text)).toBe('An authorization username must be supplied.');
      const noPassword = await submitLogin(t, form, { username: 'someone' });
      expect(pageAlert(noPassword.text)).toBe('A password must be supplied.');
    });

    it('redirects access_denied when the user cancels', async () => {
      const { form } = await openLoginPage(t, request(confidential));
      const res = await submitLogin(t, form, { action: 'cancel' });
      expect(res.status).toBe(303);
      expect(redirectParams(res)).toEqual({
        base: CB,
        params: { error: 'access_denied', error_description: 'The user cancelled the sign-in', state: 'st-123', iss: ISSUER },
      });
    });

    describe('CSRF protection', () => {
      const EXPIRED = 'The sign-in form has expired or was not accepted (are cookies enabled?). Please sign in again.';

      async function expectRefused(res: Awaited<ReturnType<typeof submitLogin>>) {
        expect(res.status).toBe(400);
        expect(res.headers.location).toBeUndefined();
        expect(pageAlert(res.text)).toBe(EXPIRED);
      }

      it('refuses a submission without the login cookie', async () => {
        const { form } = await openLoginPage(t, request(confidential));
        await expectRefused(await submitLogin(t, form, credentials(), { cookie: null }));
      });

      it("refuses another browser's token", async () => {
        const { form } = await openLoginPage(t, request(confidential));
        const other = await openLoginPage(t, request(confidential));
        await expectRefused(await submitLogin(t, form, credentials(), { cookie: other.form.cookie }));
      });

      it('refuses a submission without csrf_token, or with a forged one', async () => {
        const { form } = await openLoginPage(t, request(confidential));
        const { csrf_token: token, ...withoutToken } = form.hidden;
        await expectRefused(await submitLogin(t, { ...form, hidden: withoutToken }, credentials()));
        const [expires] = token.split('.');
        await expectRefused(await submitLogin(t, form, { ...credentials(), csrf_token: `${expires}.${'A'.repeat(43)}` }));
        await expectRefused(await submitLogin(t, form, { ...credentials(), csrf_token: `${Number(expires) + 3600}.${token.split('.')[1]}` }));
      });

      it('refuses a changed authorization request (scope, redirect_uri, PKCE challenge, state)', async () => {
        const account = await createUser(t);
        const { form } = await openLoginPage(t, request(confidential, { scope: 'openid' }));
        const changes: Record<string, string>[] = [{ scope: 'openid api:read' }, { redirect_uri: 'https://app.example/other' }, { state: 'forged' }, pkceParams()];
        for (const change of changes) {
          await expectRefused(await submitLogin(t, form, { ...credentials(account), ...change }));
        }
        expect(await t.db.query('SELECT * FROM authorization_codes WHERE user_id = ?', [account.id])).toEqual([]);
      });

      it('refuses a form older than 30 minutes, and shows a fresh one that works', async () => {
        const { form } = await openLoginPage(t, request(confidential));
        t.clock.advance(30 * 60_000 + 1000);
        const stale = await submitLogin(t, form, credentials());
        await expectRefused(stale);
        const fresh = await submitLogin(t, parseLoginForm(stale, form.cookie), credentials());
        expect(fresh.status).toBe(303);
      });

      it('does not count a refused submission as a failed login', async () => {
        const victim = await createUser(t);
        const { form } = await openLoginPage(t, request(confidential));
        await expectRefused(await submitLogin(t, form, { username: victim.username as string, password: 'wrong' }, { cookie: null }));
        const [row] = await t.db.query('SELECT failed_login_count FROM users WHERE id = ?', [victim.id]);
        expect(Number(row.failed_login_count)).toBe(0);
      });

      it('validates the client again on submission (disabled meanwhile: error page)', async () => {
        const client = await createClient(t, { grant_types: ['authorization_code'], redirect_uris: [CB] });
        const { form } = await openLoginPage(t, request(client));
        await t.http.patch(`/admin/clients/${client.client_id}`).auth(await t.adminToken(), { type: 'bearer' }).send({ disabled: true }).expect(200);
        const res = await submitLogin(t, form, credentials());
        expect(res.status).toBe(400);
        expect(res.headers.location).toBeUndefined();
        expect(pageAlert(res.text)).toBe('The application that sent you here is disabled.');
      });
    });
  });

  describe('POST /oauth2/token grant_type=authorization_code', () => {
    it('exchanges a code with client_secret_basic: id_token with nonce, auth_time of the login, amr and sid', async () => {
      const { code } = await loginForCode(t, request(confidential, { scope: 'openid email offline_access', nonce: 'nonce-xyz' }), credentials());
      const [stored] = await t.db.query('SELECT auth_time FROM authorization_codes WHERE code_hash = ?', [sha256(code)]);
      const loginSeconds = Math.floor(Number(stored.auth_time) / 1000);
      // The exchange happens later than the login: auth_time must stay the login's.
      t.clock.advance(5 * 60_000);

      const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, basic());
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 3600,
        scope: 'openid email offline_access',
        refresh_token: expect.any(String),
        refresh_expires_in: 2592000,
        id_token: expect.any(String),
      });
      const { payload } = await jwtVerify(res.body.id_token, await jwks(), { issuer: ISSUER, audience: confidential.client_id });
      expect(payload).toMatchObject({ sub: user.id, nonce: 'nonce-xyz', auth_time: loginSeconds, amr: ['pwd'], email: user.email });
      expect(payload.iat! - loginSeconds).toBeGreaterThanOrEqual(300);
      const access = decodeJwt(res.body.access_token);
      // The id_token's sid is the browser's single sign-on session (shared by every client it signs
      // in to, SPEC §5); the access token's names the login's token family, which it lives and dies with.
      const [family] = await t.db.query('SELECT id, user_id, code_hash, revoked_at, browser_session_id FROM token_families WHERE code_hash = ?', [sha256(code)]);
      expect(access).toMatchObject({ sub: user.id, client_id: confidential.client_id, auth_time: loginSeconds, sid: family.id });
      expect(family).toMatchObject({ browser_session_id: payload.sid, user_id: user.id, revoked_at: null });
      const [session] = await t.db.query('SELECT user_id, ended_at FROM browser_sessions WHERE id = ?', [payload.sid]);
      expect(session).toMatchObject({ user_id: user.id, ended_at: null });

      const [codeRow] = await t.db.query('SELECT consumed_at FROM authorization_codes WHERE code_hash = ?', [sha256(code)]);
      expect(codeRow.consumed_at).not.toBeNull();
      expect(await tokenStatus(res.body.access_token)).toBe('active');
    });

    it('leaves nonce out of the id_token when the request had none', async () => {
      const { code } = await loginForCode(t, request(confidential, { scope: 'openid' }), credentials());
      const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, basic());
      expect(res.status).toBe(200);
      expect(decodeJwt(res.body.id_token).nonce).toBeUndefined();
      expect(res.body.refresh_token).toBeUndefined();
    });

    it('exchanges a code with client_secret_post', async () => {
      const { code } = await loginForCode(t, request(postClient), credentials());
      const res = await tokenRequest(t, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: CB,
        client_id: postClient.client_id,
        client_secret: postClient.client_secret!,
      });
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe('openid profile');
      expect(decodeJwt(res.body.id_token).aud).toBe(postClient.client_id);
    });

    it('exchanges a code for a public client (none) with the PKCE S256 verifier', async () => {
      const { verifier, challenge } = pkcePair();
      const { code } = await loginForCode(t, request(publicClient, { code_challenge: challenge, code_challenge_method: 'S256' }), credentials());
      const [row] = await t.db.query('SELECT code_challenge, code_challenge_method FROM authorization_codes WHERE code_hash = ?', [sha256(code)]);
      expect(row).toEqual({ code_challenge: challenge, code_challenge_method: 'S256' });
      const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB, client_id: publicClient.client_id, code_verifier: verifier });
      expect(res.status).toBe(200);
      expect(res.body.token_type).toBe('Bearer');
    });

    it('accepts a plain PKCE verifier for a client with allow_pkce_plain', async () => {
      const client = await createClient(t, { token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: [CB], allow_pkce_plain: true });
      const verifier = pkcePair().verifier;
      const { code } = await loginForCode(t, request(client, { code_challenge: verifier, code_challenge_method: 'plain' }), credentials());
      const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB, client_id: client.client_id, code_verifier: verifier });
      expect(res.status).toBe(200);
    });

    describe('invalid_grant and invalid_request', () => {
      const invalidGrant = (description: string) => ({ error: 'invalid_grant', error_description: description });

      it('refuses an unknown code', async () => {
        const res = await tokenRequest(t, { grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: CB }, basic());
        expect(res.status).toBe(400);
        expect(res.body).toEqual(invalidGrant('Invalid authorization code'));
      });

      it("refuses another client's code, without consuming it", async () => {
        const { code } = await loginForCode(t, request(postClient), credentials());
        const foreign = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, basic());
        expect(foreign.status).toBe(400);
        expect(foreign.body).toEqual(invalidGrant('Invalid authorization code'));
        const owner = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB, client_id: postClient.client_id, client_secret: postClient.client_secret! });
        expect(owner.status).toBe(200);
      });

      it('refuses a code after its 10 minutes', async () => {
        const { code } = await loginForCode(t, request(confidential), credentials());
        t.clock.advance(10 * 60_000);
        const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, basic());
        expect(res.status).toBe(400);
        expect(res.body).toEqual(invalidGrant('Authorization code has expired'));
        const [row] = await t.db.query('SELECT consumed_at FROM authorization_codes WHERE code_hash = ?', [sha256(code)]);
        expect(row.consumed_at).toBeNull();
      });

      it('accepts a code just before its 10 minutes are up', async () => {
        const { code } = await loginForCode(t, request(confidential), credentials());
        t.clock.advance(10 * 60_000 - 5000);
        const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, basic());
        expect(res.status).toBe(200);
      });

      it('refuses a redirect_uri other than the one of the authorization request (exact match)', async () => {
        const { code } = await loginForCode(t, request(confidential), credentials());
        for (const redirect_uri of ['https://app.example/other', `${CB}/`, CB.toUpperCase()]) {
          const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri }, basic());
          expect(res.status).toBe(400);
          expect(res.body).toEqual(invalidGrant('redirect_uri does not match the authorization request'));
        }
        const missing = await tokenRequest(t, { grant_type: 'authorization_code', code }, basic());
        expect(missing.status).toBe(400);
        expect(missing.body).toEqual({ error: 'invalid_request', error_description: 'redirect_uri is required' });
        // None of these spent the code.
        expect((await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, basic())).status).toBe(200);
      });

      it('requires the default redirect_uri at the token endpoint when the authorization request left it out', async () => {
        const { verifier, challenge } = pkcePair();
        const { code } = await loginForCode(t, request(publicClient, { redirect_uri: undefined, code_challenge: challenge, code_challenge_method: 'S256' }), credentials());
        const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB, client_id: publicClient.client_id, code_verifier: verifier });
        expect(res.status).toBe(200);
      });

      it('requires code', async () => {
        const res = await tokenRequest(t, { grant_type: 'authorization_code', redirect_uri: CB }, basic());
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ error: 'invalid_request', error_description: 'code is required' });
      });

      it('refuses a wrong, malformed or missing code_verifier', async () => {
        const { verifier, challenge } = pkcePair();
        const { code } = await loginForCode(t, request(publicClient, { code_challenge: challenge, code_challenge_method: 'S256' }), credentials());
        const form = { grant_type: 'authorization_code', code, redirect_uri: CB, client_id: publicClient.client_id };
        const wrong = await tokenRequest(t, { ...form, code_verifier: pkcePair().verifier });
        expect(wrong.status).toBe(400);
        expect(wrong.body).toEqual(invalidGrant('code_verifier does not match the code_challenge'));
        // The challenge itself is not the verifier (S256 is not plain).
        const challengeAsVerifier = await tokenRequest(t, { ...form, code_verifier: challenge });
        expect(challengeAsVerifier.body).toEqual(invalidGrant('code_verifier does not match the code_challenge'));
        const short = await tokenRequest(t, { ...form, code_verifier: 'short' });
        expect(short.body).toEqual(invalidGrant('code_verifier does not match the code_challenge'));
        const missing = await tokenRequest(t, form);
        expect(missing.status).toBe(400);
        expect(missing.body).toEqual(invalidGrant('code_verifier is required'));
        expect((await tokenRequest(t, { ...form, code_verifier: verifier })).status).toBe(200);
      });

      it('refuses a code_verifier when the authorization request had no code_challenge (PKCE downgrade)', async () => {
        const { code } = await loginForCode(t, request(confidential), credentials());
        const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: pkcePair().verifier }, basic());
        expect(res.status).toBe(400);
        expect(res.body).toEqual(invalidGrant('code_verifier was sent but the authorization request had no code_challenge'));
      });

      it('refuses a code without PKCE once its client has become public', async () => {
        const client = await createClient(t, { grant_types: ['authorization_code'], redirect_uris: [CB] });
        const { code } = await loginForCode(t, request(client), credentials());
        await t.http
          .patch(`/admin/clients/${client.client_id}`)
          .auth(await t.adminToken(), { type: 'bearer' })
          .send({ token_endpoint_auth_method: 'none' })
          .expect(200);
        const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB, client_id: client.client_id });
        expect(res.status).toBe(400);
        expect(res.body).toEqual(invalidGrant('PKCE is required for this client'));
      });

      it('refuses a public client that tries to skip authentication of another client (wrong method)', async () => {
        const { code } = await loginForCode(t, request(confidential), credentials());
        const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB, client_id: confidential.client_id });
        expect(res.status).toBe(401);
        expect(res.body).toEqual({ error: 'invalid_client', error_description: 'Bad client credentials' });
      });

      it('refuses a code whose user was disabled after the login', async () => {
        const account = await createUser(t);
        const { code } = await loginForCode(t, request(confidential), credentials(account));
        // Disabled in the store: through the admin API the code is discarded as well (user-revocation suite).
        await t.db.query('UPDATE users SET disabled = ? WHERE id = ?', [true, account.id]);
        const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, basic());
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'User is disabled', error_code: 'USER_DISABLED' });
      });

      it('refuses a code whose user an administrator disabled after the login: the code was discarded', async () => {
        const account = await createUser(t);
        const { code } = await loginForCode(t, request(confidential), credentials(account));
        await t.http.patch(`/admin/users/${account.id}`).auth(await t.adminToken(), { type: 'bearer' }).send({ disabled: true }).expect(200);
        const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, basic());
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'Invalid authorization code' });
      });
    });

    describe('parameters checked before the code is redeemed (SPEC §3.7, §8)', () => {
      it.each([
        ['token_format=bogus', { token_format: 'bogus' }, 'token_format must be "opaque" or "jwt"'],
        ['max_exchange_period=0', { max_exchange_period: '0' }, 'max_exchange_period must be a whole number of hours between 1 and 4320'],
        ['refresh_expiry=-5', { refresh_expiry: '-5' }, 'refresh_expiry must be a whole number of seconds'],
      ])('refuses %s with invalid_request and leaves the code usable, with no reuse event', async (_name, bad, description) => {
        const account = await createUser(t);
        const { code } = await loginForCode(t, request(confidential, { scope: 'openid offline_access' }), credentials(account));
        const refused = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB, ...bad }, basic());
        expect(refused.status).toBe(400);
        expect(refused.body).toEqual({ error: 'invalid_request', error_description: description });
        const [row] = await t.db.query('SELECT consumed_at FROM authorization_codes WHERE code_hash = ?', [sha256(code)]);
        expect(row.consumed_at).toBeNull();

        const retried = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB, token_format: 'opaque', max_exchange_period: '1' }, basic());
        expect(retried.status).toBe(200);
        expect(await tokenStatus(retried.body.access_token)).toBe('active');
        const [family] = await t.db.query('SELECT revoked_at FROM token_families WHERE code_hash = ?', [sha256(code)]);
        expect(family.revoked_at).toBeNull();
        const events = await t.http.get(`/admin/audit-events?type=authorization_code.reused&user=${account.id}`).auth(await t.adminToken(), { type: 'bearer' });
        expect(events.status).toBe(200);
        expect(events.body).toEqual([]);
      });
    });

    describe('single use (RFC 6749 §4.1.2)', () => {
      it('refuses a second redemption and revokes the tokens of the first', async () => {
        const { code } = await loginForCode(t, request(confidential, { scope: 'openid offline_access' }), credentials());
        const first = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB, token_format: 'opaque' }, basic());
        expect(first.status).toBe(200);
        expect(await tokenStatus(first.body.access_token)).toBe('active');

        const second = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, basic());
        expect(second.status).toBe(400);
        expect(second.body).toEqual({ error: 'invalid_grant', error_description: 'Authorization code has already been used' });

        const [family] = await t.db.query('SELECT revoked_at, revoked_reason FROM token_families WHERE code_hash = ?', [sha256(code)]);
        expect(family.revoked_at).not.toBeNull();
        expect(family.revoked_reason).toBe('authorization_code_reuse');
        expect(await tokenStatus(first.body.access_token)).toBe('rejected');
        const events = await t.http.get(`/admin/audit-events?type=authorization_code.reused&client=${confidential.client_id}`).auth(await t.adminToken(), { type: 'bearer' });
        expect(events.status).toBe(200);
        expect(events.body).toHaveLength(1);
        expect(JSON.stringify(events.body)).not.toContain(code);
      });

      it('revokes JWT access tokens of the first redemption too', async () => {
        const { code } = await loginForCode(t, request(confidential), credentials());
        const first = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, basic());
        expect(first.status).toBe(200);
        await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, basic());
        expect(await tokenStatus(first.body.access_token)).toBe('rejected');
      });

      it('lets exactly one of 20 concurrent redemptions succeed, and ends its tokens', async () => {
        const { code } = await loginForCode(t, request(confidential, { scope: 'openid offline_access' }), credentials());
        const responses = await Promise.all(
          Array.from({ length: 20 }, () => tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, basic())),
        );
        const ok = responses.filter((r) => r.status === 200);
        const refused = responses.filter((r) => r.status !== 200);
        expect(ok).toHaveLength(1);
        expect(refused).toHaveLength(19);
        for (const res of refused) {
          expect(res.status).toBe(400);
          expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'Authorization code has already been used' });
        }
        const families = await t.db.query('SELECT revoked_reason FROM token_families WHERE code_hash = ?', [sha256(code)]);
        expect(families).toEqual([{ revoked_reason: 'authorization_code_reuse' }]);
        expect(await tokenStatus(ok[0].body.access_token)).toBe('rejected');
      });
    });
  });

  describe('several instances on one database (stateless)', () => {
    let other: TestApp;
    beforeAll(async () => {
      other = await startApp({ database: t.database });
      other.clock.advance(t.clock.nowMs() - other.clock.nowMs());
    });
    afterAll(() => other.close({ keepDatabase: true }));

    it('accepts on one instance the login form another rendered (the CSRF secret lives in the database)', async () => {
      const { form } = await openLoginPage(t, request(confidential));
      const res = await submitLogin(other, form, credentials());
      expect(res.status).toBe(303);
      expect(redirectParams(res).params.code).toEqual(expect.any(String));
    });

    it('lets exactly one of 20 redemptions spread over two instances succeed', async () => {
      const { code } = await loginForCode(t, request(confidential), credentials());
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => tokenRequest(i % 2 ? other : t, { grant_type: 'authorization_code', code, redirect_uri: CB }, basic())),
      );
      expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
      expect(responses.filter((r) => r.status === 400 && r.body.error === 'invalid_grant')).toHaveLength(19);
    });
  });

  describe('discovery and OpenAPI', () => {
    it('advertises the authorization endpoint, code flow and PKCE methods', async () => {
      const res = await t.http.get('/.well-known/openid-configuration');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        authorization_endpoint: `${ISSUER}/oauth2/authorize`,
        response_types_supported: ['code'],
        response_modes_supported: ['query', 'form_post'],
        code_challenge_methods_supported: ['S256', 'plain'],
        authorization_response_iss_parameter_supported: true,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
      });
      expect(res.body.grant_types_supported).toContain('authorization_code');
    });

    it('documents both methods of both paths', async () => {
      const res = await t.http.get('/docs-json');
      expect(Object.keys(res.body.paths['/oauth2/authorize']).sort()).toEqual(['get', 'post']);
      // The alias is listed by the canonical operations, not an operation of its own.
      for (const method of ['get', 'post']) expect(res.body.paths['/oauth2/authorize'][method]['x-aliases']).toEqual(['/oidc/auth']);
      const params = res.body.paths['/oauth2/authorize'].get.parameters.map((p: { name: string }) => p.name);
      expect(params).toEqual(expect.arrayContaining(['response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'state', 'nonce']));
    });
  });
});

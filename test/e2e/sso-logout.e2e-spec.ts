import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { Response } from 'supertest';
import { BackchannelLogoutService, MAX_ATTEMPTS, retryDelaySeconds } from '../../src/backchannel/backchannel-logout.service';
import { ISSUER, startApp, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, unique, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { authorizePath, pageAlert, parseLoginForm } from '../support/login-form';
import { verifyAgainstJwks } from '../support/oidc';
import { CookieJar, LogoutReceiver } from '../support/sso';

const CB = 'https://rp.example/callback';
const OUT = 'https://rp.example/signed-out';
const DEFAULT_POLICY = { lockout_threshold: 5, lockout_duration_seconds: 900, password_max_age_days: 0, initial_password_ttl_hours: 72, refresh_token_grace_seconds: 0 };
/** The policy's client lockout fields, untouched by this suite. */
const CLIENT_LOCKOUT_DEFAULTS = { client_lockout_threshold: 0, client_lockout_duration_seconds: 3600 };

/** Polls until `check` returns a value (the back-channel queue works in the background). */
async function until<T>(check: () => Promise<T | undefined | null | false>): Promise<T> {
  for (;;) {
    const value = await check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * SPEC §5 single sign-on and logout: the browser session at the hosted login page (cookie, prompt,
 * max_age, lifetimes, sid and auth_time), the admin actions that end it, RP-Initiated Logout 1.0
 * with its confirmation page, Back-Channel Logout 1.0 from the persisted queue, and
 * response_mode=form_post.
 */
describe('Single sign-on, logout and back-channel logout (SPEC §5)', () => {
  let t: TestApp;
  let receiver: LogoutReceiver;
  let rpA: CreatedClient;
  let rpB: CreatedClient;
  let user: CreatedUser;

  beforeAll(async () => {
    receiver = new LogoutReceiver();
    await receiver.start();
    t = await startApp({ env: { LOGOUT_DELIVERY_INTERVAL_SECONDS: '1' } });
    rpA = await newClient({ backchannel_logout_uri: receiver.url, backchannel_logout_session_required: true });
    rpB = await newClient();
    user = await createUser(t);
  });
  afterAll(async () => {
    await t.close();
    await receiver.stop();
  });

  const admin = async (method: 'get' | 'put' | 'post' | 'patch' | 'delete', path: string, body?: object) =>
    t.http[method](path).auth(await t.adminToken(), { type: 'bearer' }).send(body);
  const putPolicy = async (fields: Record<string, number>) => expect((await admin('put', '/admin/policy', { ...DEFAULT_POLICY, ...fields })).status).toBe(200);

  function newClient(extra: Record<string, unknown> = {}): Promise<CreatedClient> {
    return createClient(t, {
      client_id: unique('rp'),
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [CB],
      post_logout_redirect_uris: [OUT],
      scope: 'openid profile offline_access',
      ...extra,
    });
  }

  const authorize = (client: CreatedClient, extra: Record<string, string> = {}) =>
    authorizePath({ response_type: 'code', client_id: client.client_id, redirect_uri: CB, scope: 'openid offline_access', state: 'st-1', ...extra });

  const codeOf = (res: Response) => {
    expect([302, 303]).toContain(res.status);
    const location = new URL(res.headers.location);
    expect(location.origin + location.pathname).toBe(CB);
    return location.searchParams;
  };

  /** Signs in through the form in `browser` and returns the code's redirect parameters. */
  async function signIn(browser: CookieJar, client: CreatedClient, who = user, extra: Record<string, string> = {}): Promise<URLSearchParams> {
    const page = await browser.get(t, authorize(client, extra));
    expect(page.status).toBe(200);
    return codeOf(await browser.submitLogin(t, page, { username: who.username as string, password: who.password }));
  }

  async function redeem(client: CreatedClient, code: string) {
    const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, { id: client.client_id, secret: client.client_secret! });
    expect(res.status).toBe(200);
    return res.body as { id_token: string; refresh_token: string; access_token: string };
  }

  const refresh = (client: CreatedClient, refreshToken: string) =>
    tokenRequest(t, { grant_type: 'refresh_token', refresh_token: refreshToken }, { id: client.client_id, secret: client.client_secret! });

  /** prompt=none tells whether the browser still has a live session. */
  async function hasSession(browser: CookieJar, client = rpB): Promise<boolean> {
    const res = await browser.get(t, authorize(client, { prompt: 'none' }));
    expect(res.status).toBe(302);
    const params = new URL(res.headers.location).searchParams;
    if (params.get('code')) return true;
    expect(params.get('error')).toBe('login_required');
    return false;
  }

  const ssoCookie = (browser: CookieJar) => browser.cookies.get('gatehouse_sso');

  describe('single sign-on', () => {
    it('sets an HttpOnly, SameSite=Lax session cookie at login and stores only its SHA-256', async () => {
      const browser = new CookieJar();
      const page = await browser.get(t, authorize(rpA));
      const res = await browser.submitLogin(t, page, { username: user.username as string, password: user.password });
      expect(res.status).toBe(303);
      const line = ([] as string[]).concat(res.headers['set-cookie']).find((c) => c.startsWith('gatehouse_sso='))!;
      expect(line).toMatch(/^gatehouse_sso=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
      const value = ssoCookie(browser)!;
      const rows = await t.db.query('SELECT id, cookie_hash, user_id FROM browser_sessions WHERE user_id = ?', [user.id]);
      const mine = rows.find((r: { cookie_hash: string }) => r.cookie_hash === createHash('sha256').update(value).digest('hex'));
      expect(mine).toBeDefined();
      expect(JSON.stringify(rows)).not.toContain(value);
      expect(mine.id).not.toBe(value);
    });

    it('skips the form for a second client and gives both id_tokens the same sid and auth_time', async () => {
      const browser = new CookieJar();
      const first = await redeem(rpA, (await signIn(browser, rpA)).get('code')!);
      t.clock.advance(30_000);
      const res = await browser.get(t, authorize(rpB, { nonce: 'n-2' }));
      expect(res.status).toBe(302);
      const params = codeOf(res);
      expect(params.get('state')).toBe('st-1');
      expect(params.get('iss')).toBe(ISSUER);
      const second = await redeem(rpB, params.get('code')!);
      const a = (await verifyAgainstJwks(t, first.id_token, { audience: rpA.client_id })).payload;
      const b = (await verifyAgainstJwks(t, second.id_token, { audience: rpB.client_id })).payload;
      expect(typeof a.sid).toBe('string');
      expect(b.sid).toBe(a.sid);
      expect(b.auth_time).toBe(a.auth_time);
      expect(b.nonce).toBe('n-2');
      expect(Number(b.iat) - Number(b.auth_time)).toBeGreaterThanOrEqual(30);
      // The sid is the session's public id, not its cookie; a refresh keeps it.
      const [row] = await t.db.query('SELECT id FROM browser_sessions WHERE cookie_hash = ?', [createHash('sha256').update(ssoCookie(browser)!).digest('hex')]);
      expect(a.sid).toBe(row.id);
      const refreshed = await refresh(rpB, second.refresh_token);
      expect(decodeJwt(refreshed.body.id_token).sid).toBe(a.sid);
    });

    it('works on the alias /oidc/auth and by POST', async () => {
      const browser = new CookieJar();
      await signIn(browser, rpA);
      expect(codeOf(await browser.get(t, authorize(rpB).replace('/oauth2/authorize', '/oidc/auth'))).get('code')).toBeTruthy();
      const res = await browser.post(t, '/oauth2/authorize', { response_type: 'code', client_id: rpB.client_id, redirect_uri: CB, scope: 'openid' });
      expect(res.status).toBe(303);
      expect(codeOf(res).get('code')).toBeTruthy();
    });

    it('prompt=login shows the form despite the session; the new login keeps the sid and moves auth_time', async () => {
      const browser = new CookieJar();
      const first = decodeJwt((await redeem(rpA, (await signIn(browser, rpA)).get('code')!)).id_token);
      t.clock.advance(120_000);
      const page = await browser.get(t, authorize(rpA, { prompt: 'login' }));
      expect(page.status).toBe(200);
      expect(page.text).toContain('name="password"');
      const before = ssoCookie(browser)!;
      const again = codeOf(await browser.submitLogin(t, page, { username: user.username as string, password: user.password }));
      const second = decodeJwt((await redeem(rpA, again.get('code')!)).id_token);
      expect(second.sid).toBe(first.sid);
      // The cookie value changes with the login; the old one is worth nothing.
      expect(ssoCookie(browser)).not.toBe(before);
      const stale = new CookieJar();
      stale.cookies.set('gatehouse_sso', before);
      expect(await hasSession(stale)).toBe(false);
      expect(await hasSession(browser)).toBe(true);
      expect(Number(second.auth_time) - Number(first.auth_time)).toBeGreaterThanOrEqual(120);
    });

    it('max_age older than the last login shows the form; a recent enough one does not', async () => {
      const browser = new CookieJar();
      await signIn(browser, rpA);
      t.clock.advance(90_000);
      expect((await browser.get(t, authorize(rpB, { max_age: '60' }))).status).toBe(200);
      expect((await browser.get(t, authorize(rpB, { max_age: '600' }))).status).toBe(302);
      const none = await browser.get(t, authorize(rpB, { max_age: '60', prompt: 'none' }));
      expect(new URL(none.headers.location).searchParams.get('error')).toBe('login_required');
      const bad = await browser.get(t, authorize(rpB, { max_age: 'soon' }));
      expect(new URL(bad.headers.location).searchParams.get('error')).toBe('invalid_request');
    });

    it('prompt=none answers a code with a session and login_required without one', async () => {
      const browser = new CookieJar();
      expect(await hasSession(browser)).toBe(false);
      await signIn(browser, rpA);
      const res = await browser.get(t, authorize(rpB, { prompt: 'none' }));
      expect(codeOf(res).get('code')).toBeTruthy();
      // A cookie nobody issued is no session.
      const forged = new CookieJar();
      forged.cookies.set('gatehouse_sso', 'A'.repeat(43));
      expect(await hasSession(forged)).toBe(false);
    });

    it('a client or user with require_mfa does not accept a password-only session', async () => {
      const mfaClient = await newClient({ require_mfa: true });
      const browser = new CookieJar();
      await signIn(browser, rpA);
      expect((await browser.get(t, authorize(mfaClient))).status).toBe(200);
      const none = await browser.get(t, authorize(mfaClient, { prompt: 'none' }));
      expect(new URL(none.headers.location).searchParams.get('error')).toBe('login_required');
      // Nor does a user who has had to give a second factor since the session began.
      const someone = await createUser(t);
      const other = new CookieJar();
      await signIn(other, rpA, someone);
      expect(await hasSession(other)).toBe(true);
      expect((await admin('patch', `/admin/users/${someone.id}`, { require_mfa: true })).status).toBe(200);
      expect(await hasSession(other)).toBe(false);
    });

    it('ends after sso_session_idle_seconds without use, and after sso_session_max_seconds in any case', async () => {
      try {
        await putPolicy({ sso_session_idle_seconds: 60, sso_session_max_seconds: 150 });
        expect((await admin('get', '/admin/policy')).body).toEqual({ ...DEFAULT_POLICY, ...CLIENT_LOCKOUT_DEFAULTS, sso_session_idle_seconds: 60, sso_session_max_seconds: 150 });
        const idle = new CookieJar();
        await signIn(idle, rpA);
        t.clock.advance(61_000);
        expect(await hasSession(idle)).toBe(false);

        const used = new CookieJar();
        await signIn(used, rpA);
        for (let i = 0; i < 2; i++) {
          t.clock.advance(50_000);
          expect(await hasSession(used)).toBe(true);
        }
        t.clock.advance(51_000);
        // 151 s after the login, though used 51 s ago.
        expect(await hasSession(used)).toBe(false);
      } finally {
        await putPolicy({ sso_session_idle_seconds: 1800, sso_session_max_seconds: 36000 });
      }
    });

    it('a login as another user in the same browser ends the first user\'s session', async () => {
      const other = await createUser(t);
      const browser = new CookieJar();
      const first = decodeJwt((await redeem(rpA, (await signIn(browser, rpA)).get('code')!)).id_token);
      const page = await browser.get(t, authorize(rpA, { prompt: 'login' }));
      const second = decodeJwt((await redeem(rpA, codeOf(await browser.submitLogin(t, page, { username: other.username as string, password: other.password })).get('code')!)).id_token);
      expect(second.sub).toBe(other.id);
      expect(second.sid).not.toBe(first.sid);
      const [row] = await t.db.query('SELECT ended_reason FROM browser_sessions WHERE id = ?', [first.sid]);
      expect(row.ended_reason).toBe('replaced');
    });
  });

  describe('admin API', () => {
    it('GET /admin/users/{id}/sessions lists live sessions with their clients, never an id', async () => {
      const someone = await createUser(t);
      const browser = new CookieJar();
      await signIn(browser, rpA, someone);
      t.clock.advance(5_000);
      codeOf(await browser.get(t, authorize(rpB)));
      const res = await admin('get', `/admin/users/${someone.id}/sessions`);
      expect(res.status).toBe(200);
      expect(res.body).toHaveLength(1);
      const [session] = res.body;
      expect(Object.keys(session).sort()).toEqual(['auth_time', 'clients', 'created_at', 'expires_at', 'ip', 'last_seen_at', 'user_agent']);
      expect(session.clients).toEqual([rpA.client_id, rpB.client_id]);
      expect(session.ip).toBe('127.0.0.1');
      expect(Date.parse(session.last_seen_at) - Date.parse(session.created_at)).toBeGreaterThanOrEqual(5_000);
      expect(JSON.stringify(res.body)).not.toContain(ssoCookie(browser)!);
      const [row] = await t.db.query('SELECT id FROM browser_sessions WHERE user_id = ?', [someone.id]);
      expect(JSON.stringify(res.body)).not.toContain(row.id);
      expect((await admin('get', '/admin/users/00000000-0000-4000-8000-000000000000/sessions')).status).toBe(404);
      expect((await t.http.get(`/admin/users/${someone.id}/sessions`)).status).toBe(401);
    });

    it.each([
      ['DELETE /admin/users/{id}/sessions', 'admin', (id: string) => admin('delete', `/admin/users/${id}/sessions`)],
      ['POST /admin/users/{id}/lock', 'user_locked', (id: string) => admin('post', `/admin/users/${id}/lock`)],
      ['PATCH /admin/users/{id} disabled', 'user_disabled', (id: string) => admin('patch', `/admin/users/${id}`, { disabled: true })],
      ['POST /admin/users/{id}/password', 'password_set', (id: string) => admin('post', `/admin/users/${id}/password`, { password: 'another long password 42' })],
      ['DELETE /admin/users/{id}', 'user_deleted', (id: string) => admin('delete', `/admin/users/${id}`)],
    ])('%s ends the browser sessions', async (_name, reason, act) => {
      const someone = await createUser(t);
      const browsers = [new CookieJar(), new CookieJar()];
      for (const browser of browsers) await signIn(browser, rpB, someone);
      expect((await admin('get', `/admin/users/${someone.id}/sessions`)).body).toHaveLength(2);
      expect([200, 204]).toContain((await act(someone.id)).status);
      for (const browser of browsers) expect(await hasSession(browser)).toBe(false);
      const rows = await t.db.query('SELECT ended_reason FROM browser_sessions WHERE user_id = ?', [someone.id]);
      expect(rows.map((r: { ended_reason: string }) => r.ended_reason)).toEqual([reason, reason]);
      if (reason !== 'user_deleted') expect((await admin('get', `/admin/users/${someone.id}/sessions`)).body).toEqual([]);
    });

    it('policy SSO fields are validated and optional in a PUT', async () => {
      for (const bad of [{ sso_session_idle_seconds: 0 }, { sso_session_max_seconds: 31536001 }, { sso_session_idle_seconds: '60' }]) {
        const res = await admin('put', '/admin/policy', { ...DEFAULT_POLICY, ...bad });
        expect(res.status).toBe(400);
        expect(Object.keys(res.body.fields)).toEqual(Object.keys(bad));
      }
      expect((await admin('put', '/admin/policy', DEFAULT_POLICY)).body).toEqual({ ...DEFAULT_POLICY, ...CLIENT_LOCKOUT_DEFAULTS, sso_session_idle_seconds: 1800, sso_session_max_seconds: 36000 });
    });
  });

  describe('RP-initiated logout', () => {
    it('with a valid id_token_hint: ends the session and its refresh tokens, clears the cookie, redirects with state', async () => {
      const browser = new CookieJar();
      const tokens = await redeem(rpB, (await signIn(browser, rpB)).get('code')!);
      const res = await browser.get(t, `/oauth2/logout?${new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: OUT, state: 'bye' })}`);
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe(`${OUT}?state=bye`);
      expect(([] as string[]).concat(res.headers['set-cookie'])).toContain('gatehouse_sso=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax');
      expect(ssoCookie(browser)).toBeUndefined();
      const [row] = await t.db.query('SELECT ended_reason FROM browser_sessions WHERE id = ?', [decodeJwt(tokens.id_token).sid]);
      expect(row.ended_reason).toBe('logout');
      const refreshed = await refresh(rpB, tokens.refresh_token);
      expect(refreshed.status).toBe(400);
      expect(refreshed.body.error).toBe('invalid_grant');
    });

    it('keeps the refresh tokens of a client with logout_revokes_refresh_tokens false; the alias and POST work', async () => {
      const keeper = await newClient({ logout_revokes_refresh_tokens: false });
      const browser = new CookieJar();
      const tokens = await redeem(keeper, (await signIn(browser, keeper)).get('code')!);
      const res = await browser.post(t, '/oidc/session/end', { id_token_hint: tokens.id_token });
      expect(res.status).toBe(200);
      expect(res.text).toContain('Signed out');
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(await hasSession(browser)).toBe(false);
      expect((await refresh(keeper, tokens.refresh_token)).status).toBe(200);
    });

    it('accepts an expired id_token_hint', async () => {
      const browser = new CookieJar();
      const tokens = await redeem(rpB, (await signIn(browser, rpB)).get('code')!);
      t.clock.advance(2 * 3600_000);
      const res = await browser.get(t, `/oauth2/logout?${new URLSearchParams({ id_token_hint: tokens.id_token, client_id: rpB.client_id, post_logout_redirect_uri: OUT })}`);
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe(OUT);
    });

    it.each([
      ['an unregistered post_logout_redirect_uri', (hint: string) => ({ id_token_hint: hint, post_logout_redirect_uri: 'https://evil.example/out' }), 'not registered'],
      ['a post_logout_redirect_uri differing in case', (hint: string) => ({ id_token_hint: hint, post_logout_redirect_uri: OUT.toUpperCase() }), 'not registered'],
      ['a post_logout_redirect_uri without client', () => ({ post_logout_redirect_uri: OUT }), 'needs the client_id'],
      ['a client_id other than the hint\'s', (hint: string) => ({ id_token_hint: hint, client_id: rpA.client_id }), 'does not match'],
      ['an unknown client_id', () => ({ client_id: 'no-such-client' }), 'not registered'],
      ['a repeated state', () => 'state=a&state=b', 'must not be repeated'],
    ])('refuses %s with an HTML page and ends nothing', async (_name, params, message) => {
      const browser = new CookieJar();
      const tokens = await redeem(rpB, (await signIn(browser, rpB)).get('code')!);
      const p = params(tokens.id_token);
      const res = await browser.get(t, `/oauth2/logout?${typeof p === 'string' ? p : new URLSearchParams(p as Record<string, string>)}`);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers.location).toBeUndefined();
      expect(pageAlert(res.text)).toContain(message);
      expect(await hasSession(browser)).toBe(true);
    });

    it('without a hint asks first: the confirmation form is CSRF-protected and bound to its parameters', async () => {
      const browser = new CookieJar();
      await signIn(browser, rpB);
      const page = await browser.get(t, `/oauth2/logout?${new URLSearchParams({ client_id: rpB.client_id, post_logout_redirect_uri: OUT, state: 's-9' })}`);
      expect(page.status).toBe(200);
      expect(page.text).toContain('Sign out');
      expect(await hasSession(browser)).toBe(true);
      const form = parseLoginForm(page, browser.header());
      expect(form.hidden).toEqual({ client_id: rpB.client_id, post_logout_redirect_uri: OUT, state: 's-9', csrf_token: expect.stringMatching(/^\d+\.[A-Za-z0-9_-]{43}$/) });

      // Another site's form: no token, a token with other parameters, or the right token without the browser's cookie.
      const attacker = new CookieJar();
      attacker.cookies.set('gatehouse_sso', ssoCookie(browser)!);
      for (const [jar, fields] of [
        [browser, { ...form.hidden, csrf_token: undefined, action: 'logout' }],
        [browser, { ...form.hidden, state: 'other', action: 'logout' }],
        [attacker, { ...form.hidden, action: 'logout' }],
      ] as const) {
        const res = await jar.post(t, form.action, JSON.parse(JSON.stringify(fields)));
        expect(res.status).toBe(400);
        expect(pageAlert(res.text)).toContain('has expired or was not accepted');
        expect(await hasSession(browser)).toBe(true);
      }

      const cancelled = await browser.post(t, form.action, { ...form.hidden, action: 'cancel' });
      expect(cancelled.status).toBe(303);
      expect(await hasSession(browser)).toBe(true);

      const res = await browser.post(t, form.action, { ...form.hidden, action: 'logout' });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`${OUT}?state=s-9`);
      expect(await hasSession(browser)).toBe(false);
    });

    it('a hint for another user of this browser asks first', async () => {
      const other = await createUser(t);
      const otherBrowser = new CookieJar();
      const foreign = await redeem(rpB, (await signIn(otherBrowser, rpB, other)).get('code')!);
      const browser = new CookieJar();
      await signIn(browser, rpB);
      const res = await browser.get(t, `/oauth2/logout?${new URLSearchParams({ id_token_hint: foreign.id_token })}`);
      expect(res.status).toBe(200);
      expect(res.text).toContain('name="csrf_token"');
      expect(await hasSession(browser)).toBe(true);
      expect(await hasSession(otherBrowser)).toBe(true);
    });
  });

  describe('back-channel logout', () => {
    it('POSTs a signed logout_token to each client the session signed in to, once', async () => {
      const start = receiver.received.length;
      const browser = new CookieJar();
      const tokens = await redeem(rpA, (await signIn(browser, rpA)).get('code')!);
      codeOf(await browser.get(t, authorize(rpB)));
      const sid = decodeJwt(tokens.id_token).sid;
      const res = await browser.get(t, `/oauth2/logout?${new URLSearchParams({ id_token_hint: tokens.id_token })}`);
      expect(res.status).toBe(200);
      const [delivery] = (await receiver.waitFor(start + 1)).slice(start);
      expect(delivery.path).toBe('/backchannel-logout');
      expect(delivery.contentType).toBe('application/x-www-form-urlencoded');
      const logoutToken = delivery.body.get('logout_token')!;
      const { header, payload } = await verifyAgainstJwks(t, logoutToken, { audience: rpA.client_id, typ: 'logout+jwt' });
      expect(header.alg).toBe('RS256');
      expect(Object.keys(payload).sort()).toEqual(['aud', 'events', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub']);
      expect(payload).toMatchObject({ iss: ISSUER, aud: rpA.client_id, sub: user.id, sid, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } });
      // rpB has no back-channel URI: its row is dropped, not retried.
      const rows = await until(async () => {
        const r = await t.db.query('SELECT client_id, delivered_at, attempts FROM logout_notifications WHERE session_id = ?', [sid]);
        return r.length === 1 && r[0].delivered_at !== null ? r : undefined;
      });
      expect(rows.map((r: { client_id: string; attempts: number }) => [r.client_id, Number(r.attempts)])).toEqual([[rpA.client_id, 1]]);
      expect(receiver.received.length).toBe(start + 1);
    });

    it('an admin ending the sessions notifies too', async () => {
      const someone = await createUser(t);
      const start = receiver.received.length;
      const browser = new CookieJar();
      const tokens = await redeem(rpA, (await signIn(browser, rpA, someone)).get('code')!);
      expect((await admin('delete', `/admin/users/${someone.id}/sessions`)).status).toBe(204);
      const [delivery] = (await receiver.waitFor(start + 1)).slice(start);
      const { payload } = await verifyAgainstJwks(t, delivery.body.get('logout_token')!, { audience: rpA.client_id, typ: 'logout+jwt' });
      expect(payload.sub).toBe(someone.id);
      expect(payload.sid).toBe(decodeJwt(tokens.id_token).sid);
    });

    it('retries with back-off after the receiver fails, with the same jti', async () => {
      const start = receiver.received.length;
      receiver.status = 503;
      try {
        const browser = new CookieJar();
        const tokens = await redeem(rpA, (await signIn(browser, rpA)).get('code')!);
        const sid = decodeJwt(tokens.id_token).sid;
        await browser.get(t, `/oauth2/logout?${new URLSearchParams({ id_token_hint: tokens.id_token })}`);
        await receiver.waitFor(start + 1);
        const [failed] = await until(async () => {
          const r = await t.db.query('SELECT attempts, last_error, next_attempt_at, delivered_at FROM logout_notifications WHERE session_id = ?', [sid]);
          return Number(r[0]?.attempts) === 1 ? r : undefined;
        });
        expect(failed.last_error).toBe('HTTP 503');
        expect(failed.delivered_at).toBeNull();
        expect(Number(failed.next_attempt_at) - t.clock.nowMs()).toBeGreaterThan(5_000);
        receiver.status = 200;
        t.clock.advance(11_000);
        await receiver.waitFor(start + 2);
        const [first, second] = receiver.received.slice(start, start + 2).map((d) => decodeJwt(d.body.get('logout_token')!));
        expect(second.jti).toBe(first.jti);
        await until(async () => {
          const [row] = await t.db.query('SELECT delivered_at, attempts FROM logout_notifications WHERE session_id = ?', [sid]);
          return row.delivered_at !== null && Number(row.attempts) === 2;
        });
      } finally {
        receiver.status = 200;
      }
    });
    it('gives up after the last attempt, records an audit event, and never sends it again', async () => {
      const failing = new LogoutReceiver();
      failing.status = 500;
      await failing.start();
      try {
        const rp = await newClient({ backchannel_logout_uri: failing.url });
        const browser = new CookieJar();
        const tokens = await redeem(rp, (await signIn(browser, rp)).get('code')!);
        const sid = decodeJwt(tokens.id_token).sid;
        await browser.get(t, `/oauth2/logout?${new URLSearchParams({ id_token_hint: tokens.id_token })}`);
        const delivery = t.app.get(BackchannelLogoutService);
        for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
          await failing.waitFor(attempt);
          await until(async () => Number((await t.db.query('SELECT attempts FROM logout_notifications WHERE session_id = ?', [sid]))[0].attempts) === attempt);
          t.clock.advance(retryDelaySeconds(attempt) * 1000 + 1000);
          await delivery.deliverDue();
        }
        const [row] = await t.db.query('SELECT attempts, failed_at, delivered_at, last_error FROM logout_notifications WHERE session_id = ?', [sid]);
        expect({ attempts: Number(row.attempts), failed: row.failed_at !== null, delivered: row.delivered_at, error: row.last_error }).toEqual({
          attempts: MAX_ATTEMPTS,
          failed: true,
          delivered: null,
          error: 'HTTP 500',
        });
        t.clock.advance(24 * 3600_000);
        await delivery.deliverDue();
        expect(failing.received).toHaveLength(MAX_ATTEMPTS);
        const events = await admin('get', `/admin/audit-events?client=${rp.client_id}&type=backchannel_logout.failed`);
        expect(events.body).toEqual([expect.objectContaining({ client_id: rp.client_id, details: expect.objectContaining({ sid, attempts: MAX_ATTEMPTS, error: 'HTTP 500' }) })]);
      } finally {
        await failing.stop();
      }
    });
  });

  describe('response modes', () => {
    it('form_post answers with a page that posts the code to the redirect_uri', async () => {
      const browser = new CookieJar();
      await signIn(browser, rpA);
      const res = await browser.get(t, authorize(rpB, { response_mode: 'form_post' }));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.text).toContain(`<form method="post" action="${CB}">`);
      expect(res.text).toMatch(/<input type="hidden" name="code" value="[A-Za-z0-9_-]{43}">/);
      expect(res.text).toContain('<input type="hidden" name="state" value="st-1">');
      expect(res.headers['content-security-policy']).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
      expect(res.headers['content-security-policy']).toContain('form-action https://rp.example');
      const code = /name="code" value="([^"]+)"/.exec(res.text)![1];
      expect((await redeem(rpB, code)).id_token).toBeTruthy();
    });

    it('form_post also after the login form, and for errors once the redirect_uri is trusted', async () => {
      const browser = new CookieJar();
      const page = await browser.get(t, authorize(rpA, { response_mode: 'form_post' }));
      const res = await browser.submitLogin(t, page, { username: user.username as string, password: user.password });
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/name="code" value="[A-Za-z0-9_-]{43}"/);
      const error = await new CookieJar().get(t, authorize(rpA, { response_mode: 'form_post', prompt: 'none' }));
      expect(error.status).toBe(200);
      expect(error.text).toContain('<input type="hidden" name="error" value="login_required">');
      const bad = await new CookieJar().get(t, authorize(rpA, { response_mode: 'form_post', scope: 'openid admin' }));
      expect(bad.text).toContain('<input type="hidden" name="error" value="invalid_scope">');
      const query = await new CookieJar().get(t, authorize(rpA, { response_mode: 'query', prompt: 'none' }));
      expect(query.status).toBe(302);
      const fragment = await new CookieJar().get(t, authorize(rpA, { response_mode: 'fragment' }));
      expect(new URL(fragment.headers.location).searchParams.get('error_description')).toBe('Unsupported response_mode (use "query" or "form_post")');
    });
  });

  it('the OpenAPI document describes the end-session endpoint, the sessions listing and the new fields', async () => {
    const doc = (await t.http.get('/docs-json')).body;
    expect(Object.keys(doc.paths['/oauth2/logout']).sort()).toEqual(['get', 'post']);
    // The alias is listed by the canonical operations, not an operation of its own.
    for (const method of ['get', 'post']) expect(doc.paths['/oauth2/logout'][method]['x-aliases']).toEqual(['/oidc/session/end']);
    expect(doc.paths['/oidc/session/end']).toBeUndefined();
    expect(doc.paths['/oauth2/logout'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['id_token_hint', 'client_id', 'post_logout_redirect_uri', 'state', 'ui_locales']),
    );
    expect(Object.keys(doc.paths['/admin/users/{id}/sessions']).sort()).toEqual(['delete', 'get']);
    expect(doc.paths['/oauth2/authorize'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['prompt', 'max_age', 'response_mode']));
    const schemas = doc.components.schemas;
    expect(Object.keys(schemas.CreateClientDto.properties)).toEqual(
      expect.arrayContaining(['post_logout_redirect_uris', 'backchannel_logout_uri', 'backchannel_logout_session_required', 'logout_revokes_refresh_tokens']),
    );
    expect(Object.keys(schemas.PolicyDto.properties)).toEqual(expect.arrayContaining(['sso_session_idle_seconds', 'sso_session_max_seconds']));
  });

  it('discovery advertises logout, back-channel logout and the response modes', async () => {
    const res = await t.http.get('/.well-known/openid-configuration');
    expect(res.body).toMatchObject({
      end_session_endpoint: `${ISSUER}/oauth2/logout`,
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
      frontchannel_logout_supported: false,
      response_modes_supported: ['query', 'form_post'],
      prompt_values_supported: ['none', 'login'],
    });
  });
});

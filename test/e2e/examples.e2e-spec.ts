import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Response as SupertestResponse } from 'supertest';
import { startApp, type TestApp } from '../support/app';
import { freePort } from '../support/service';
import { createClient, createUser, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { parseLoginForm } from '../support/login-form';

/**
 * The relying party reads every URL from discovery, so the issuer must be the address it reaches:
 * ports free when the suite starts (a fixed port in Linux's ephemeral range can be taken by any
 * outgoing connection).
 */
let GATEHOUSE_PORT: number;
let RP_PORT: number;
let ISSUER: string;
let RP: string;
const EXAMPLES = join(__dirname, '..', '..', 'examples');

/** Runs `node script` with env to its end; resolves with its stdout, rejects with its stderr. */
function runScript(script: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited ${code}: ${err}`))));
  });
}

/** Starts `node script` and waits for its first line on stdout (the server is listening). */
function startServer(script: string, env: Record<string, string>): Promise<{ child: ChildProcess; firstLine: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout!.once('data', (chunk: Buffer) => resolve({ child, firstLine: chunk.toString().trim() }));
    child.once('exit', (code) => reject(new Error(`${script} exited ${code}: ${err}`)));
  });
}

/** A browser's cookie jar, one cookie string per origin, as far as this flow needs one. */
class Browser {
  private readonly cookies = new Map<string, Map<string, string>>();

  async get(url: string): Promise<Response> {
    return this.send(url, { method: 'GET' });
  }

  async postForm(url: string, fields: Record<string, string>): Promise<Response> {
    return this.send(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    const origin = new URL(url).origin;
    const jar = this.cookies.get(origin) ?? new Map<string, string>();
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), ...(cookie ? { Cookie: cookie } : {}) } });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    this.cookies.set(origin, jar);
    return res;
  }
}

/**
 * Issue 12 item 7: the examples of examples/ run against a live Gatehouse with clients registered
 * through the admin API: the Express relying party (openid-client, authorization code + PKCE,
 * UserInfo, sign-out) driven through the hosted login page as a browser would, and the backend
 * script (password grant, refresh, UserInfo).
 */
describe('examples/ against a live Gatehouse (issue 12)', () => {
  let t: TestApp;
  let user: CreatedUser;

  beforeAll(async () => {
    [GATEHOUSE_PORT, RP_PORT] = [await freePort(), await freePort()];
    ISSUER = `http://127.0.0.1:${GATEHOUSE_PORT}`;
    RP = `http://127.0.0.1:${RP_PORT}`;
    t = await startApp({ port: GATEHOUSE_PORT, env: { ISSUER } });
    user = await createUser(t, { username: 'example.user', name: 'Example User', email: 'example.user@example.com', email_verified: true });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('the client registrations the examples\' READMEs show are accepted by the admin API as written', async () => {
    const admin = await t.adminToken();
    for (const example of ['express-rp', 'password-grant']) {
      const readme = readFileSync(join(EXAMPLES, example, 'README.md'), 'utf8');
      const bodies = [...readme.matchAll(/curl -s http:\/\/localhost:3000\/admin\/clients [^\n]*-d '(\{[^']*\})'/g)].map((m) => JSON.parse(m[1]) as Record<string, unknown>);
      expect({ example, registrations: bodies.length }).toEqual({ example, registrations: 1 });
      const res = await t.http.post('/admin/clients').auth(admin, { type: 'bearer' }).send(bodies[0]);
      expect({ example, status: res.status }).toEqual({ example, status: 201 });
      expect(res.body).toMatchObject({ client_id: bodies[0].client_id, client_secret: expect.any(String) });
    }
  });

  describe('examples/express-rp: a web app signing in with the authorization code flow and PKCE', () => {
    let rp: CreatedClient;
    let server: { child: ChildProcess; firstLine: string };

    beforeAll(async () => {
      rp = await createClient(t, {
        client_name: 'Example web app',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [`${RP}/callback`],
        post_logout_redirect_uris: [`${RP}/`],
        scope: 'openid profile email',
        require_pkce: true,
      });
      server = await startServer(join(EXAMPLES, 'express-rp', 'app.mjs'), {
        GATEHOUSE_ISSUER: ISSUER,
        CLIENT_ID: rp.client_id,
        CLIENT_SECRET: rp.client_secret!,
        PORT: String(RP_PORT),
        BASE_URL: RP,
      });
    });

    afterAll(() => {
      server?.child.kill();
    });

    it('starts, having read discovery', () => {
      expect(server.firstLine).toBe(`Relying party at ${RP} (issuer ${ISSUER})`);
    });

    it('signs the user in: login page, code with PKCE S256, verified ID token, UserInfo; single sign-on; then signs out here and at Gatehouse', async () => {
      const browser = new Browser();
      expect(await (await browser.get(`${RP}/me`)).json()).toEqual({ signed_in: false });

      const login = await browser.get(`${RP}/login`);
      expect(login.status).toBe(302);
      const authorize = new URL(login.headers.get('location')!);
      expect(`${authorize.origin}${authorize.pathname}`).toBe(`${ISSUER}/oauth2/authorize`);
      expect(Object.fromEntries(authorize.searchParams)).toEqual({
        client_id: rp.client_id,
        response_type: 'code',
        redirect_uri: `${RP}/callback`,
        scope: 'openid profile email',
        code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        code_challenge_method: 'S256',
        state: expect.any(String),
        nonce: expect.any(String),
      });

      const page = await browser.get(authorize.href);
      expect(page.status).toBe(200);
      const html = await page.text();
      const form = parseLoginForm({ text: html, headers: { 'set-cookie': page.headers.getSetCookie() } } as unknown as SupertestResponse);
      const submitted = await browser.postForm(new URL(form.action, ISSUER).href, { ...form.hidden, action: 'login', username: 'example.user', password: user.password });
      expect(submitted.status).toBe(303);
      const callback = submitted.headers.get('location')!;
      expect(callback.startsWith(`${RP}/callback?`)).toBe(true);

      const back = await browser.get(callback);
      expect({ status: back.status, location: back.headers.get('location') }).toEqual({ status: 302, location: '/' });
      const me = await (await browser.get(`${RP}/me`)).json();
      expect(me).toEqual({
        signed_in: true,
        userinfo: expect.objectContaining({ sub: user.id, name: 'Example User', preferred_username: 'example.user', email: 'example.user@example.com', email_verified: true }),
        id_token_claims: expect.objectContaining({ iss: ISSUER, aud: rp.client_id, sub: user.id, nonce: expect.any(String) }),
      });
      expect(await (await browser.get(`${RP}/`)).text()).toContain('Signed in as example.user');

      // The code is single-use: replaying the callback fails in the RP (no sign-in in progress any more).
      expect((await browser.get(callback)).status).toBe(400);

      // Single sign-on: while Gatehouse's session lives, signing in again needs no login page.
      const again = await browser.get(new URL((await browser.get(`${RP}/login`)).headers.get('location')!).href);
      expect([302, 303]).toContain(again.status);
      expect(again.headers.get('location')!.startsWith(`${RP}/callback?`)).toBe(true);
      expect((await browser.get(again.headers.get('location')!)).status).toBe(302);

      // Sign-out: the app's session ends, then Gatehouse's (RP-initiated logout), which sends the browser back.
      const discovery = (await t.http.get('/.well-known/openid-configuration')).body as { end_session_endpoint: string };
      expect(discovery.end_session_endpoint).toBe(`${ISSUER}/oauth2/logout`);
      const logout = await browser.get(`${RP}/logout`);
      expect(logout.status).toBe(302);
      const end = new URL(logout.headers.get('location')!);
      expect(`${end.origin}${end.pathname}`).toBe(discovery.end_session_endpoint);
      expect(end.searchParams.get('post_logout_redirect_uri')).toBe(`${RP}/`);
      expect(end.searchParams.get('id_token_hint')).toEqual(expect.any(String));
      expect(await (await browser.get(`${RP}/me`)).json()).toEqual({ signed_in: false });
      const ended = await browser.get(end.href);
      expect([302, 303]).toContain(ended.status);
      expect(ended.headers.get('location')).toBe(`${RP}/`);
      // Gatehouse's session is over too: signing in again shows the login page.
      const fresh = await browser.get(new URL((await browser.get(`${RP}/login`)).headers.get('location')!).href);
      expect(fresh.status).toBe(200);
      expect(await fresh.text()).toContain('<form method="post"');
    });

    it('refuses a callback whose state is not the one it sent (a forged or replayed redirect)', async () => {
      const browser = new Browser();
      const login = await browser.get(`${RP}/login`);
      const authorize = new URL(login.headers.get('location')!);
      const page = await browser.get(authorize.href);
      const form = parseLoginForm({ text: await page.text(), headers: { 'set-cookie': page.headers.getSetCookie() } } as unknown as SupertestResponse);
      const submitted = await browser.postForm(new URL(form.action, ISSUER).href, { ...form.hidden, action: 'login', username: 'example.user', password: user.password });
      const callback = new URL(submitted.headers.get('location')!);
      callback.searchParams.set('state', 'not-the-state-it-sent');
      const back = await browser.get(callback.href);
      expect(back.status).toBe(502);
      expect(await back.text()).toMatch(/^Sign-in failed: /);
      expect(await (await browser.get(`${RP}/me`)).json()).toEqual({ signed_in: false });
    });
  });

  describe('examples/password-grant: a backend with the password grant, refresh and UserInfo', () => {
    let backend: CreatedClient;

    beforeAll(async () => {
      backend = await createClient(t, { client_name: 'Example backend', grant_types: ['password', 'refresh_token'], scope: 'openid profile offline_access' });
    });

    it('logs in, refreshes (the refresh token rotates) and reads UserInfo', async () => {
      const out = await runScript(join(EXAMPLES, 'password-grant', 'backend.mjs'), {
        GATEHOUSE_ISSUER: ISSUER,
        CLIENT_ID: backend.client_id,
        CLIENT_SECRET: backend.client_secret!,
        LOGIN_USERNAME: 'example.user',
        LOGIN_PASSWORD: user.password,
      });
      const result = JSON.parse(out);
      expect(result).toEqual({
        login: { token_type: 'bearer', scope: 'openid profile offline_access', expires_in: 3600, access_token: expect.stringMatching(/^.{8}…$/), refresh_token: expect.stringMatching(/^.{8}…$/), sub: user.id },
        refresh: { rotated: true, access_token: expect.stringMatching(/^.{8}…$/), expires_in: 3600 },
        userinfo: expect.objectContaining({ sub: user.id, name: 'Example User', preferred_username: 'example.user' }),
      });
      // The tokens it printed are shortened: the script never prints a whole token.
      expect(out).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/);
    });

    it('fails with the server\'s error for a wrong password, and prints no token', async () => {
      await expect(
        runScript(join(EXAMPLES, 'password-grant', 'backend.mjs'), {
          GATEHOUSE_ISSUER: ISSUER,
          CLIENT_ID: backend.client_id,
          CLIENT_SECRET: backend.client_secret!,
          LOGIN_USERNAME: 'example.user',
          LOGIN_PASSWORD: 'not the password',
        }),
      ).rejects.toThrow(/invalid_grant/);
    });
  });
});

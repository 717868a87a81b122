import { decodeProtectedHeader } from 'jose';
import type { Response } from 'supertest';
import { RETIRED_KEY_PUBLISH_SECONDS } from '../../src/keys/keys.service';
import { startApp, type TestApp } from '../support/app';
import { createClient, createUser, unique, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { authorizePath, pageAlert, parseLoginForm } from '../support/login-form';
import { CookieJar } from '../support/sso';

const CB = 'https://rp.example/callback';
const OUT = 'https://rp.example/signed-out';

/**
 * RP-Initiated Logout 1.0 §4: an id_token_hint that cannot be verified (signed with a key deleted
 * since, forged, not an id_token) is not used. The request goes on as one without a hint: the user
 * is asked to confirm, and the post_logout_redirect_uri is followed only when the client_id comes
 * with it (as without a hint); without one it is dropped, never followed.
 */
describe('RP-Initiated Logout with an id_token_hint that cannot be verified', () => {
  let t: TestApp;
  let rp: CreatedClient;
  let user: CreatedUser;
  /** An id_token signed with a key that was rotated out and is no longer published. */
  let retiredKeyHint: string;

  beforeAll(async () => {
    t = await startApp();
    rp = await createClient(t, { client_id: unique('rp'), grant_types: ['authorization_code'], redirect_uris: [CB], post_logout_redirect_uris: [OUT], scope: 'openid' });
    user = await createUser(t);
    retiredKeyHint = (await signIn(new CookieJar())).id_token;
    const rotated = await t.http.post('/admin/keys/rotate').auth(await t.adminToken(), { type: 'bearer' });
    expect(rotated.status).toBe(200);
    t.clock.advance(RETIRED_KEY_PUBLISH_SECONDS * 1000 + 60_000);
    const jwks = await t.http.get('/oauth2/jwks');
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).not.toContain(decodeProtectedHeader(retiredKeyHint).kid);
  });
  afterAll(async () => {
    await t.close();
  });

  const signIn = (browser: CookieJar) => browser.signIn(t, rp, user, CB);

  async function hasSession(browser: CookieJar): Promise<boolean> {
    const res = await browser.get(t, authorizePath({ response_type: 'code', client_id: rp.client_id, redirect_uri: CB, scope: 'openid', prompt: 'none' }));
    return new URL(res.headers.location).searchParams.has('code');
  }

  const logout = (browser: CookieJar, params: Record<string, string>) => browser.get(t, `/oauth2/logout?${new URLSearchParams(params)}`);

  function expectConfirmationPage(res: Response): void {
    expect(res.status).toBe(200);
    expect(res.headers.location).toBeUndefined();
    expect(res.text).toContain('name="csrf_token"');
  }

  it.each([
    ['signed with a key deleted since', () => Promise.resolve(retiredKeyHint)],
    ['forged', async () => `${(await signIn(new CookieJar())).id_token.slice(0, -4)}AAAA`],
    ['an access token', async () => (await signIn(new CookieJar())).access_token],
  ])('a hint %s is ignored: the user is asked to confirm, and without client_id the post_logout_redirect_uri is dropped', async (_name, hintOf) => {
    const hint = await hintOf();
    const browser = new CookieJar();
    await signIn(browser);
    const page = await logout(browser, { id_token_hint: hint, post_logout_redirect_uri: OUT, state: 'bye' });
    expectConfirmationPage(page);
    expect(await hasSession(browser)).toBe(true);
    const form = parseLoginForm(page, browser.header());
    expect(form.hidden).toEqual({ csrf_token: expect.any(String) });

    const done = await browser.post(t, form.action, { ...form.hidden, action: 'logout' });
    expect(done.headers.location ?? '').not.toContain(OUT);
    expect(await hasSession(browser)).toBe(false);
  });

  it('with the client_id, the registered post_logout_redirect_uri is followed after the confirmation, as without a hint', async () => {
    const browser = new CookieJar();
    await signIn(browser);
    const page = await logout(browser, { id_token_hint: retiredKeyHint, client_id: rp.client_id, post_logout_redirect_uri: OUT, state: 'bye' });
    expectConfirmationPage(page);
    const form = parseLoginForm(page, browser.header());
    expect(form.hidden).toEqual({ client_id: rp.client_id, post_logout_redirect_uri: OUT, state: 'bye', csrf_token: expect.any(String) });
    expect(await hasSession(browser)).toBe(true);
    const done = await browser.post(t, form.action, { ...form.hidden, action: 'logout' });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe(`${OUT}?state=bye`);
    expect(await hasSession(browser)).toBe(false);
  });

  it('an unregistered post_logout_redirect_uri with the client_id is still refused with an error page', async () => {
    const browser = new CookieJar();
    await signIn(browser);
    const res = await logout(browser, { id_token_hint: retiredKeyHint, client_id: rp.client_id, post_logout_redirect_uri: 'https://evil.example/out' });
    expect(res.status).toBe(400);
    expect(res.headers.location).toBeUndefined();
    expect(pageAlert(res.text)).toContain('not registered');
    expect(await hasSession(browser)).toBe(true);
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startApp, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { CHROMIUM_ARGS, chromiumPath } from '../support/chromium';
import { authorizePath, pkcePair } from '../support/login-form';

const executablePath = chromiumPath();

/**
 * SPEC §5: the hosted login page works in a real browser. Debian's Chromium, headless, drives the
 * page against the app listening on 127.0.0.1; the client's redirect_uri is a small HTTP server of
 * the test, so the browser really follows the redirect and the code is read from what it requested.
 */
(executablePath ? describe : describe.skip)('Hosted login page in headless Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let callback: Server;
  let callbackUrl: string;
  let appUrl: string;
  let confidential: CreatedClient;
  let publicClient: CreatedClient;
  let user: CreatedUser;
  /** Content-Security-Policy violations the page reported (a blocked style, a blocked form target...). */
  let cspViolations: string[];

  beforeAll(async () => {
    callback = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>Callback</title><p>Signed in</p>');
    });
    await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
    callbackUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;

    t = await startApp();
    appUrl = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    confidential = await createClient(t, {
      client_name: 'Acme Dashboard',
      grant_types: ['authorization_code'],
      redirect_uris: [callbackUrl],
      post_logout_redirect_uris: [callbackUrl.replace('/callback', '/signed-out')],
      scope: 'openid profile email',
    });
    publicClient = await createClient(t, {
      client_name: 'Acme Mobile',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      redirect_uris: [callbackUrl],
    });
    user = await createUser(t, { username: 'alice.browser', email: 'alice.browser@example.com' });

    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await new Promise((resolve) => callback?.close(resolve));
  });

  beforeEach(async () => {
    context = await browser.newContext();
    cspViolations = [];
  });
  afterEach(() => context.close());

  async function openLogin(params: Record<string, string>): Promise<Page> {
    const page = await context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) cspViolations.push(message.text());
    });
    const res = await page.goto(`${appUrl}${authorizePath({ response_type: 'code', redirect_uri: callbackUrl, state: 'browser-state', ...params })}`);
    expect(res?.status()).toBe(200);
    return page;
  }

  /** Signs in with the accessible labels and button, and returns the URL the browser was redirected to. */
  async function signIn(page: Page, username: string, password: string): Promise<URL> {
    await page.getByLabel('Username, email or phone number').fill(username);
    await page.getByLabel('Password').fill(password);
    const redirected = page.waitForRequest((req) => req.url().startsWith(callbackUrl));
    await page.getByRole('button', { name: 'Sign in' }).click();
    const url = new URL((await redirected).url());
    await page.waitForURL((u) => u.href.startsWith(callbackUrl));
    await expectText(page.locator('p')).toHaveTextContent('Signed in');
    return url;
  }

  it('signs in a user of a confidential client and the backend exchanges the code (client_secret_basic)', async () => {
    const page = await openLogin({ client_id: confidential.client_id, scope: 'openid email', nonce: 'browser-nonce' });
    expect(await page.title()).toBe('Sign in');
    await expectText(page.getByRole('heading', { level: 1 })).toHaveTextContent('Sign in');
    expect(await page.locator('.sub').textContent()).toBe('to continue to Acme Dashboard');

    const url = await signIn(page, 'alice.browser', user.password);
    expect(url.searchParams.get('state')).toBe('browser-state');
    const code = url.searchParams.get('code')!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: callbackUrl }, { id: confidential.client_id, secret: confidential.client_secret! });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.id_token)).toMatchObject({ sub: user.id, nonce: 'browser-nonce', email: 'alice.browser@example.com', amr: ['pwd'] });
    expect(cspViolations).toEqual([]);
  });

  it('signs in a user of a public client with PKCE S256 and exchanges the code with the verifier (none)', async () => {
    const { verifier, challenge } = pkcePair();
    const page = await openLogin({ client_id: publicClient.client_id, code_challenge: challenge, code_challenge_method: 'S256' });
    // The email works as the login name too.
    const url = await signIn(page, 'Alice.Browser@example.com', user.password);
    const code = url.searchParams.get('code')!;

    const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: callbackUrl, client_id: publicClient.client_id, code_verifier: verifier });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', scope: 'openid profile' });
    expect(cspViolations).toEqual([]);
  });

  it('shows "Bad credentials" on the page after a wrong password, keeps the username, and then signs in', async () => {
    const page = await openLogin({ client_id: confidential.client_id });
    await page.getByLabel('Username, email or phone number').fill('alice.browser');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();

    await expectText(page.getByRole('alert')).toHaveTextContent('Bad credentials');
    expect(new URL(page.url()).pathname).toBe('/oauth2/authorize');
    expect(await page.getByLabel('Username, email or phone number').inputValue()).toBe('alice.browser');
    expect(await page.getByLabel('Password').inputValue()).toBe('');
    // The cursor waits in the password field.
    expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('password');

    const url = await signIn(page, 'alice.browser', user.password);
    expect(url.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cspViolations).toEqual([]);
  });

  it('single sign-on: signs in once, gets a second code without the form (also by form_post), then logs out', async () => {
    const page = await openLogin({ client_id: confidential.client_id, scope: 'openid' });
    const first = await signIn(page, 'alice.browser', user.password);
    const exchange = (code: string, client: CreatedClient, extra: Record<string, string> = {}) =>
      tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: callbackUrl, ...extra }, client.client_secret ? { id: client.client_id, secret: client.client_secret } : undefined);
    const tokens = await exchange(first.searchParams.get('code')!, confidential);
    expect(tokens.status).toBe(200);

    // Another application: the browser goes straight back with a code, no form.
    const { verifier, challenge } = pkcePair();
    const redirected = page.waitForRequest((req) => req.url().startsWith(callbackUrl));
    await page.goto(`${appUrl}${authorizePath({ response_type: 'code', client_id: publicClient.client_id, redirect_uri: callbackUrl, code_challenge: challenge, code_challenge_method: 'S256', state: 'second' })}`);
    const second = new URL((await redirected).url());
    expect(second.searchParams.get('state')).toBe('second');
    const publicTokens = await exchange(second.searchParams.get('code')!, publicClient, { client_id: publicClient.client_id, code_verifier: verifier });
    expect(publicTokens.status).toBe(200);
    expect(decodeJwt(publicTokens.body.id_token).sid).toBe(decodeJwt(tokens.body.id_token).sid);

    // form_post: the page's one script (allowed by its hash) posts the code to the redirect_uri.
    const posted = page.waitForRequest((req) => req.url().startsWith(callbackUrl) && req.method() === 'POST');
    await page.goto(`${appUrl}${authorizePath({ response_type: 'code', client_id: confidential.client_id, redirect_uri: callbackUrl, response_mode: 'form_post', state: 'posted' })}`);
    const form = new URLSearchParams((await posted).postData() ?? '');
    expect(form.get('state')).toBe('posted');
    expect(form.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // RP-initiated logout with the id_token as hint: straight to the post-logout URI with the state.
    const signedOut = callbackUrl.replace('/callback', '/signed-out');
    const back = page.waitForRequest((req) => req.url().startsWith(signedOut));
    await page.goto(`${appUrl}/oauth2/logout?${new URLSearchParams({ id_token_hint: tokens.body.id_token, post_logout_redirect_uri: signedOut, state: 'bye' })}`);
    expect(new URL((await back).url()).searchParams.get('state')).toBe('bye');

    // The session is gone: prompt=none answers login_required, and the form is back.
    const none = page.waitForRequest((req) => req.url().startsWith(callbackUrl));
    await page.goto(`${appUrl}${authorizePath({ response_type: 'code', client_id: confidential.client_id, redirect_uri: callbackUrl, prompt: 'none' })}`);
    expect(new URL((await none).url()).searchParams.get('error')).toBe('login_required');
    const again = await openLogin({ client_id: confidential.client_id });
    await signIn(again, 'alice.browser', user.password);

    // Without a hint the user confirms on a page; the button signs out.
    await again.goto(`${appUrl}/oidc/session/end?${new URLSearchParams({ client_id: confidential.client_id, post_logout_redirect_uri: signedOut })}`);
    await expectText(again.getByRole('heading', { level: 1 })).toHaveTextContent('Sign out');
    const confirmed = again.waitForRequest((req) => req.url().startsWith(signedOut));
    await again.getByRole('button', { name: 'Sign out' }).click();
    expect(new URL((await confirmed).url()).pathname).toBe('/signed-out');
    expect((await context.cookies()).map((c) => c.name)).not.toContain('gatehouse_sso');
    expect(cspViolations).toEqual([]);
  });

  it('fits a phone screen (screenshot in /tmp/login-page.png)', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      const page = await phone.newPage();
      await page.goto(`${appUrl}${authorizePath({ response_type: 'code', client_id: confidential.client_id, redirect_uri: callbackUrl })}`);
      // Nothing wider than the screen: no horizontal scrolling.
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      const box = await page.getByRole('button', { name: 'Sign in' }).boundingBox();
      expect(box!.width).toBeGreaterThan(250);
      expect(box!.height).toBeGreaterThanOrEqual(44);
      await page.screenshot({ path: '/tmp/login-page.png', fullPage: true });
    } finally {
      await phone.close();
    }
  });
});

/** A tiny stand-in for Playwright's test matchers: waits for a locator's text like expect(locator).toHaveText does. */
function expectText(locator: { textContent(options?: { timeout?: number }): Promise<string | null>; waitFor(options?: { timeout?: number }): Promise<void> }) {
  return {
    async toHaveTextContent(text: string) {
      await locator.waitFor({ timeout: 10_000 });
      expect((await locator.textContent())?.trim()).toBe(text);
    },
  };
}

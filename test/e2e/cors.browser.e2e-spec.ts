import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startApp, type TestApp } from '../support/app';
import { CHROMIUM_ARGS, chromiumPath } from '../support/chromium';
import { freePort } from '../support/service';
import { createClient, createUser, type CreatedClient, type CreatedUser } from '../support/fixtures';

const executablePath = chromiumPath();

/**
 * The issuer's port: a browser app reads every URL from discovery, so the issuer must be the
 * address the browser reaches: the app listens on a free port picked first, and the issuer names it.
 */
let ISSUER = '';

/** What the single-page app reports in `window.result` once it has run. */
interface SpaResult {
  error?: string;
  discovery?: { status: number; issuer: string };
  token?: { status: number; body: Record<string, unknown>; cacheControl: string | null };
  userinfo?: { status: number; body: Record<string, unknown> };
  badToken?: { status: number; wwwAuthenticate: string | null; body: Record<string, unknown> };
  withCredentials?: string;
}

/** What the SPA's `window.signOut()` reports. */
interface SignOutResult {
  revocation: { status: number };
  afterRevocation: { status: number; body: Record<string, unknown> };
}

/**
 * The single-page app, as one would write it with fetch() and no library: a public client with
 * PKCE S256. At `/` it reads discovery and sends the browser to the authorization endpoint; at
 * `/callback` it checks `state`, redeems the code at the token endpoint (a form POST, a CORS
 * "simple" request), reads UserInfo with a bearer token (preflighted), reads a 401 and its
 * WWW-Authenticate header and tries a credentialed request; `window.signOut()` revokes its refresh token.
 */
function spaPage(clientId: string): string {
  const script = `
const ISSUER = ${JSON.stringify(ISSUER)};
const CLIENT_ID = ${JSON.stringify(clientId)};
const REDIRECT_URI = location.origin + '/callback';
const b64url = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
const random = (bytes) => b64url(crypto.getRandomValues(new Uint8Array(bytes)));
const form = (fields) => ({ method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });

async function discovery(result) {
  const res = await fetch(ISSUER + '/.well-known/openid-configuration');
  const meta = await res.json();
  if (result) result.discovery = { status: res.status, issuer: meta.issuer };
  return meta;
}

async function signIn() {
  const meta = await discovery();
  const verifier = random(32);
  const state = random(16);
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem('login', JSON.stringify({ verifier, state }));
  location.assign(meta.authorization_endpoint + '?' + new URLSearchParams({
    response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid profile offline_access',
    state, code_challenge: challenge, code_challenge_method: 'S256',
  }));
}

async function callback() {
  const result = {};
  const params = new URLSearchParams(location.search);
  const { verifier, state } = JSON.parse(sessionStorage.getItem('login'));
  if (params.get('state') !== state) throw new Error('state does not match');
  const meta = await discovery(result);

  const tokenRes = await fetch(meta.token_endpoint, form({
    grant_type: 'authorization_code', code: params.get('code'), redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, code_verifier: verifier,
  }));
  const tokens = await tokenRes.json();
  result.token = { status: tokenRes.status, body: tokens, cacheControl: tokenRes.headers.get('cache-control') };

  const meRes = await fetch(meta.userinfo_endpoint, { headers: { Authorization: 'Bearer ' + tokens.access_token } });
  result.userinfo = { status: meRes.status, body: await meRes.json() };

  const badRes = await fetch(meta.userinfo_endpoint, { headers: { Authorization: 'Bearer not-a-token' } });
  result.badToken = { status: badRes.status, wwwAuthenticate: badRes.headers.get('www-authenticate'), body: await badRes.json() };

  // Gatehouse never allows credentials mode: the browser refuses to hand such a response over.
  try {
    await fetch(meta.userinfo_endpoint, { credentials: 'include', headers: { Authorization: 'Bearer ' + tokens.access_token } });
    result.withCredentials = 'read';
  } catch (error) {
    result.withCredentials = 'refused: ' + error.name;
  }

  // Signing out: revoke the refresh token (ending the session), then see that it is gone.
  window.signOut = async () => {
    const revokeRes = await fetch(meta.revocation_endpoint, form({ token: tokens.refresh_token, token_type_hint: 'refresh_token', client_id: CLIENT_ID }));
    const refreshRes = await fetch(meta.token_endpoint, form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: CLIENT_ID }));
    return { revocation: { status: revokeRes.status }, afterRevocation: { status: refreshRes.status, body: await refreshRes.json() } };
  };
  return result;
}

(location.pathname === '/callback' ? callback() : signIn()).then(
  (result) => { if (result) window.result = result; },
  (error) => { window.result = { error: String(error && error.stack || error) }; },
);`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>Acme SPA</title></head><body><p>Acme SPA</p><script>${script}</script></body></html>`;
}

/** A static HTTP server on its own port (its own origin) answering every path with `html()`. */
async function staticSite(html: () => string): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(html());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * SPEC §4 CORS, in a real browser: a single-page app served from its own origin signs in with
 * Gatehouse through the hosted login page and then talks to the token, UserInfo and revocation
 * endpoints with fetch(); a page from an origin no client registered is refused by the browser.
 */
(executablePath ? describe : describe.skip)('A single-page app in headless Chromium (CORS, SPEC §4)', () => {
  let t: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let spaSite: { server: Server; origin: string };
  let foreignSite: { server: Server; origin: string };
  let spa: CreatedClient;
  let user: CreatedUser;

  beforeAll(async () => {
    const port = await freePort();
    ISSUER = `http://127.0.0.1:${port}`;
    t = await startApp({ port, env: { ISSUER } });
    spaSite = await staticSite(() => spaPage(spa.client_id));
    foreignSite = await staticSite(() => '<!doctype html><html><head><meta charset="utf-8"><title>Elsewhere</title></head><body><p>Another site</p></body></html>');
    spa = await createClient(t, {
      client_name: 'Acme SPA',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [`${spaSite.origin}/callback`],
      scope: 'openid profile offline_access',
    });
    user = await createUser(t, { username: 'spa.user', name: 'Spa User' });
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await Promise.all([spaSite, foreignSite].map((site) => new Promise((resolve) => site?.server.close(resolve))));
  });

  beforeEach(async () => {
    context = await browser.newContext();
  });
  afterEach(() => context.close());

  /** Opens the SPA, which sends the browser to the login page; signs in there and returns what the SPA reported back home. */
  async function signInThroughSpa(page: Page): Promise<SpaResult> {
    await page.goto(`${spaSite.origin}/`);
    await page.waitForURL((url) => url.href.startsWith(`${ISSUER}/oauth2/authorize`));
    await page.getByLabel('Username, email or phone number').fill('spa.user');
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.href.startsWith(`${spaSite.origin}/callback`));
    await page.waitForFunction(() => (globalThis as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 20_000 });
    return page.evaluate(() => (globalThis as unknown as { result: SpaResult }).result);
  }

  it('signs in from its own origin: discovery, login page, code with PKCE, token endpoint, UserInfo, a readable 401, revocation', async () => {
    const page = await context.newPage();
    const result = await signInThroughSpa(page);
    expect(result.error).toBeUndefined();
    expect(result.discovery).toEqual({ status: 200, issuer: ISSUER });
    expect(result.token).toMatchObject({ status: 200, body: { token_type: 'Bearer', scope: 'openid profile offline_access' }, cacheControl: 'no-store' });
    expect(typeof result.token!.body.access_token).toBe('string');
    expect(typeof result.token!.body.id_token).toBe('string');
    expect(result.userinfo).toEqual({ status: 200, body: expect.objectContaining({ sub: user.id, name: 'Spa User', preferred_username: 'spa.user' }) });
    // The app can read an error, and the challenge that says what went wrong.
    expect(result.badToken).toEqual({
      status: 401,
      wwwAuthenticate: expect.stringContaining('error="invalid_token"'),
      body: { error: 'invalid_token', error_description: 'The access token is invalid or expired' },
    });
    expect(result.withCredentials).toBe('refused: TypeError');

    const signOut = await page.evaluate(() => (globalThis as unknown as { signOut(): Promise<SignOutResult> }).signOut());
    expect(signOut).toEqual({
      revocation: { status: 200 },
      afterRevocation: { status: 400, body: { error: 'invalid_grant', error_description: 'Refresh token has been revoked' } },
    });
  });

  it('refuses a page of a foreign origin: its fetch() of the token, UserInfo and revocation endpoints rejects; discovery and JWKS stay public', async () => {
    const page = await context.newPage();
    const { token } = await signInThroughSpa(page);
    const accessToken = token!.body.access_token as string;

    const elsewhere = await context.newPage();
    await elsewhere.goto(`${foreignSite.origin}/`);
    const outcomes = await elsewhere.evaluate(
      async ({ issuer, clientId, accessToken }) => {
        const attempt = async (url: string, init?: RequestInit) => {
          try {
            const res = await fetch(url, init);
            return `read ${res.status}`;
          } catch (error) {
            return `refused: ${(error as Error).name}`;
          }
        };
        const form = (fields: Record<string, string>): RequestInit => ({
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(fields),
        });
        return {
          discovery: await attempt(`${issuer}/.well-known/openid-configuration`),
          jwks: await attempt(`${issuer}/oauth2/jwks`),
          token: await attempt(`${issuer}/oauth2/token`, form({ grant_type: 'authorization_code', code: 'x'.repeat(43), client_id: clientId, code_verifier: 'v'.repeat(43), redirect_uri: 'x' })),
          userinfo: await attempt(`${issuer}/oauth2/userinfo`, { headers: { Authorization: `Bearer ${accessToken}` } }),
          revocation: await attempt(`${issuer}/oauth2/revoke`, form({ token: 'not-a-token', client_id: clientId })),
        };
      },
      { issuer: ISSUER, clientId: spa.client_id, accessToken },
    );
    expect(outcomes).toEqual({
      discovery: 'read 200',
      jwks: 'read 200',
      token: 'refused: TypeError',
      userinfo: 'refused: TypeError',
      revocation: 'refused: TypeError',
    });
    // The same token still works from the SPA's origin.
    const me = await page.evaluate(
      async ({ issuer, accessToken }) => (await fetch(`${issuer}/oauth2/userinfo`, { headers: { Authorization: `Bearer ${accessToken}` } })).status,
      { issuer: ISSUER, accessToken },
    );
    expect(me).toBe(200);
  });
});

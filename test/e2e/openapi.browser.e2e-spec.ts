import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, startApp, type TestApp } from '../support/app';
import { CHROMIUM_ARGS, chromiumPath } from '../support/chromium';
import { freePort } from '../support/service';

const executablePath = chromiumPath();

/**
 * Swagger UI calls the server the document names (the issuer), so the issuer must be the address
 * the browser reaches: the app listens on a free port picked first, and the issuer names it.
 */
let ISSUER = '';

/**
 * Issue 12 item 2, by clicking: Swagger UI's Authorize fetches the admin token with the bootstrap
 * client (client_credentials, client_secret_basic), and "Try it out" with the examples as they
 * come creates a client and a user (201) and gets a token from a form without placeholders.
 */
(executablePath ? describe : describe.skip)('Swagger UI at /docs in headless Chromium (issue 12)', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const port = await freePort();
    ISSUER = `http://127.0.0.1:${port}`;
    t = await startApp({ port, env: { ISSUER } });
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    page = await (await browser.newContext()).newPage();
    await page.goto(`${ISSUER}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** The operation block of `method path`, expanded, in "Try it out" mode. */
  async function tryItOut(method: string, path: string): Promise<Locator> {
    const block = page.locator(`.opblock.opblock-${method}`, { has: page.locator(`.opblock-summary-path[data-path="${path}"]`) });
    await block.locator('.opblock-summary').first().click();
    await block.locator('.try-out__btn').click();
    return block;
  }

  /** Executes the operation and returns the status of the live response and the request body sent. */
  async function execute(block: Locator, path: string): Promise<{ status: number; sent: string | null; body: string }> {
    const [request] = await Promise.all([
      page.waitForRequest((r) => new URL(r.url()).pathname === path && r.method() !== 'OPTIONS', { timeout: 30_000 }),
      block.locator('button.execute').click(),
    ]);
    const status = block.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor({ timeout: 30_000 });
    const body = (await block.locator('.live-responses-table .response-col_description pre').first().textContent()) ?? '';
    return { status: Number((await status.textContent())!.trim()), sent: request.postData(), body };
  }

  it('Authorize fetches an admin token with the bootstrap client, as client_secret_basic with scope=admin', async () => {
    await page.locator('.auth-wrapper button.authorize').click();
    const admin = page.locator('.auth-container', { hasText: 'admin_client' });
    await admin.getByLabel('client_id:').fill(ADMIN_CLIENT_ID);
    await admin.getByLabel('client_secret:').fill(ADMIN_CLIENT_SECRET);
    // The admin scope is ticked from the start (initOAuth).
    await expect(admin.locator('input[type=checkbox]').first().isChecked()).resolves.toBe(true);
    const [request, response] = await Promise.all([
      page.waitForRequest((r) => r.url() === `${ISSUER}/oauth2/token`),
      page.waitForResponse((r) => r.url() === `${ISSUER}/oauth2/token`),
      admin.locator('button.authorize').click(),
    ]);
    expect(request.headers().authorization).toBe(`Basic ${Buffer.from(`${ADMIN_CLIENT_ID}:${ADMIN_CLIENT_SECRET}`).toString('base64')}`);
    expect(new URLSearchParams(request.postData() ?? '')).toEqual(new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin' }));
    expect(response.status()).toBe(200);
    await expect(admin.locator('button', { hasText: 'Logout' }).waitFor({ timeout: 10_000 })).resolves.toBeUndefined();

    // The token endpoint's own scheme (HTTP Basic) with the same client, for the form below.
    const basic = page.locator('.auth-container', { hasText: '(http, Basic)' });
    await basic.locator('input[type=text]').fill(ADMIN_CLIENT_ID);
    await basic.locator('input[type=password]').fill(ADMIN_CLIENT_SECRET);
    await basic.locator('button.authorize').click();
    await basic.locator('button', { hasText: 'Logout' }).waitFor({ timeout: 10_000 });
    await page.locator('.modal-ux button.btn-done').first().click();
    await page.locator('.modal-ux').waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('POST /admin/clients with the example as it comes: 201 and a generated client_id and secret', async () => {
    const block = await tryItOut('post', '/admin/clients');
    const result = await execute(block, '/admin/clients');
    expect(result.status).toBe(201);
    expect(JSON.parse(result.sent!)).toEqual({ client_name: 'My backend', grant_types: ['client_credentials'], scope: 'api:read' });
    expect(JSON.parse(result.body)).toMatchObject({ client_id: expect.any(String), client_secret: expect.any(String), client_name: 'My backend' });
  });

  it('POST /admin/users with the example as it comes: 201', async () => {
    const block = await tryItOut('post', '/admin/users');
    const result = await execute(block, '/admin/users');
    expect(result.status).toBe(201);
    expect(JSON.parse(result.body)).toMatchObject({ username: 'alice', email: 'alice@example.com', name: 'Alice Liddell' });
    const stored = await t.http.get('/admin/users').query({ search: 'alice' }).auth(await t.adminToken(), { type: 'bearer' });
    expect(JSON.stringify(stored.body)).toContain('"alice"');
  });

  it('GET /admin/users and /admin/audit-events with their query parameters as they come: 200', async () => {
    for (const path of ['/admin/users', '/admin/audit-events']) {
      const result = await execute(await tryItOut('get', path), path);
      expect({ path, status: result.status }).toEqual({ path, status: 200 });
    }
  });

  it('POST /oauth2/token sends grant_type=client_credentials and no other value, and gets a token', async () => {
    const block = await tryItOut('post', '/oauth2/token');
    // Every field but grant_type starts empty: no "string" placeholders.
    const filled = await block.locator('tbody input[type=text], tbody textarea').evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value).filter(Boolean));
    expect(filled).toEqual([]);
    const result = await execute(block, '/oauth2/token');
    // Swagger UI sends the empty fields too ("Send empty value" starts ticked); RFC 6749 §3.2 treats them as omitted.
    const sent = [...new URLSearchParams(result.sent!)].filter(([, value]) => value !== '');
    expect(sent).toEqual([['grant_type', 'client_credentials']]);
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });
  });
});

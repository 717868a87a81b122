import { decodeJwt } from 'jose';
import { BackchannelLogoutService, retryDelaySeconds } from '../../src/backchannel/backchannel-logout.service';
import { startApp, type TestApp } from '../support/app';
import type { TestDatabase } from '../support/database';
import { createClient, createUser, unique, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { CookieJar, LogoutReceiver } from '../support/sso';

const CB = 'https://rp.example/callback';
const REFUSED = /^(127\.0\.0\.1 is|localhost resolves to (127\.0\.0\.1|::1),) not a public address \(JWKS_URI_BLOCK_PRIVATE\)$/;

/** Polls until `check` returns a value (the back-channel queue works in the background). */
async function until<T>(check: () => Promise<T | undefined | null | false>): Promise<T> {
  for (;;) {
    const value = await check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * JWKS_URI_BLOCK_PRIVATE=true covers back-channel logout as it covers jwks_uri (SSRF): a receiver
 * that is, or resolves to, a loopback or private address is refused at registration and is never
 * sent a logout token, checked on the address connected to. The other suites run with the block
 * off (the default), because their receivers listen on 127.0.0.1.
 */
describe('Back-channel logout with JWKS_URI_BLOCK_PRIVATE=true', () => {
  const receiver = new LogoutReceiver();
  let t: TestApp & { database: TestDatabase };
  let literal: CreatedClient;
  let rebinding: CreatedClient;
  let user: CreatedUser;

  beforeAll(async () => {
    await receiver.start();
    // The clients are registered while the block is off (with it on, registration refuses them),
    // as by an operator who turns it on later; then the instance restarts with the block on.
    const before = await startApp();
    const rp = (uri: string) =>
      createClient(before, { client_id: unique('rp'), grant_types: ['authorization_code'], redirect_uris: [CB], scope: 'openid', backchannel_logout_uri: uri });
    literal = await rp(receiver.url);
    // A name that resolves to 127.0.0.1: what a DNS-rebinding attacker's name does at delivery time.
    rebinding = await rp(receiver.urlAt('localhost'));
    user = await createUser(before);
    await before.close({ keepDatabase: true });
    t = await startApp({ database: before.database, env: { JWKS_URI_BLOCK_PRIVATE: 'true' } });
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  const admin = async (method: 'get' | 'post' | 'patch', path: string, body?: object) => t.http[method](path).auth(await t.adminToken(), { type: 'bearer' }).send(body);

  async function signInAndOut(client: CreatedClient): Promise<string> {
    const browser = new CookieJar();
    const idToken = (await browser.signIn(t, client, user, CB)).id_token;
    expect((await browser.get(t, `/oauth2/logout?${new URLSearchParams({ id_token_hint: idToken })}`)).status).toBe(200);
    return decodeJwt(idToken).sid as string;
  }

  it.each([
    ['an IP literal', () => literal, '127.0.0.1'],
    ['a name resolving to loopback (rebinding)', () => rebinding, 'localhost'],
  ])('refuses delivery to %s: not sent, given up at once, logged as refused and audited', async (_, clientOf, host) => {
    const client = clientOf();
    const sid = await signInAndOut(client);
    const row = await until(async () => {
      const [r] = await t.db.query('SELECT attempts, failed_at, delivered_at, last_error FROM logout_notifications WHERE session_id = ?', [sid]);
      return r?.failed_at !== null && r?.failed_at !== undefined ? r : undefined;
    });
    expect(Number(row.attempts)).toBe(1);
    expect(row.delivered_at).toBeNull();
    expect(row.last_error).toMatch(REFUSED);
    expect(receiver.received).toHaveLength(0);

    const events = await admin('get', `/admin/audit-events?client=${client.client_id}&type=backchannel_logout.refused`);
    expect(events.body).toEqual([
      expect.objectContaining({ client_id: client.client_id, user_id: user.id, details: expect.objectContaining({ sid, host, address: expect.stringMatching(/^(127\.0\.0\.1|::1)$/) }) }),
    ]);
    // Nothing secret in it: no token, no URL.
    expect(JSON.stringify(events.body)).not.toMatch(/logout_token|eyJ|backchannel-logout/);

    // Not retried later either.
    t.clock.advance(retryDelaySeconds(1) * 1000 + 24 * 3600_000);
    await t.app.get(BackchannelLogoutService).deliverDue();
    expect(receiver.received).toHaveLength(0);
    const [after] = await t.db.query('SELECT attempts FROM logout_notifications WHERE session_id = ?', [sid]);
    expect(Number(after.attempts)).toBe(1);
  });

  it('refuses to register or change a backchannel_logout_uri (or jwks_uri) that is, or resolves to, a non-public address', async () => {
    for (const uri of [receiver.url, receiver.urlAt('localhost'), 'http://10.1.2.3/logout', 'http://[::1]:8080/logout', 'http://169.254.169.254/latest']) {
      const res = await admin('post', '/admin/clients', { grant_types: ['authorization_code'], redirect_uris: [CB], backchannel_logout_uri: uri });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain('backchannel_logout_uri: ');
      expect(JSON.stringify(res.body)).toContain('not a public address (JWKS_URI_BLOCK_PRIVATE)');
    }
    const patched = await admin('patch', `/admin/clients/${literal.client_id}`, { backchannel_logout_uri: receiver.urlAt('localhost') });
    expect(patched.status).toBe(400);
    expect(JSON.stringify(patched.body)).toMatch(/backchannel_logout_uri: localhost resolves to (127\.0\.0\.1|::1), not a public address/);
    // A change to other fields of a client registered earlier is not held up by its old URI.
    expect((await admin('patch', `/admin/clients/${literal.client_id}`, { client_name: 'renamed' })).status).toBe(200);
    // A public address is accepted (an IP literal: no lookup needed).
    const pub = await admin('post', '/admin/clients', { grant_types: ['authorization_code'], redirect_uris: [CB], backchannel_logout_uri: 'https://93.184.215.14/backchannel-logout' });
    expect(pub.status).toBe(201);
    expect(receiver.received).toHaveLength(0);
  });
});

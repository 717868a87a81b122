import { decodeJwt } from 'jose';
import type { Response } from 'supertest';
import { BackchannelLogoutService } from '../../src/backchannel/backchannel-logout.service';
import { closeInstances, startApp, startInstances, type TestApp } from '../support/app';
import { createClient, createUser, tokenRequest, unique, type CreatedClient, type CreatedUser } from '../support/fixtures';
import { authorizePath } from '../support/login-form';
import { verifyAgainstJwks } from '../support/oidc';
import { CookieJar, LogoutReceiver } from '../support/sso';

const CB = 'https://rp.example/callback';
const ENV = { LOGOUT_DELIVERY_INTERVAL_SECONDS: '1' };

async function until<T>(check: () => Promise<T | undefined | null | false>): Promise<T> {
  for (;;) {
    const value = await check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * SPEC §5 across instances: the browser session and the back-channel queue live in the database, so
 * a session started on one instance is used and ended on another, each notification is delivered
 * once however many instances poll the queue, and a restart loses none.
 */
describe('Single sign-on and logout across instances (SPEC §1, §5)', () => {
  let a: Awaited<ReturnType<typeof startApp>>;
  let b: TestApp;
  let receiver: LogoutReceiver;
  let rp: CreatedClient;
  let user: CreatedUser;

  beforeAll(async () => {
    receiver = new LogoutReceiver();
    await receiver.start();
    ({ a, b } = await startInstances(ENV));
    rp = await createClient(a, {
      client_id: unique('rp'),
      grant_types: ['authorization_code'],
      redirect_uris: [CB],
      backchannel_logout_uri: receiver.url,
      scope: 'openid',
    });
    user = await createUser(a);
  });
  afterAll(async () => {
    await closeInstances(a, b);
    await receiver.stop();
  });

  const advance = (ms: number) => {
    a.clock.advance(ms);
    b.clock.advance(ms);
  };
  const authorize = (extra: Record<string, string> = {}) => authorizePath({ response_type: 'code', client_id: rp.client_id, redirect_uri: CB, scope: 'openid', ...extra });
  const params = (res: Response) => new URL(res.headers.location).searchParams;

  async function signIn(t: TestApp, browser: CookieJar): Promise<string> {
    const page = await browser.get(t, authorize());
    expect(page.status).toBe(200);
    const done = await browser.submitLogin(t, page, { username: user.username as string, password: user.password });
    const code = params(done).get('code')!;
    const res = await tokenRequest(t, { grant_type: 'authorization_code', code, redirect_uri: CB }, { id: rp.client_id, secret: rp.client_secret! });
    expect(res.status).toBe(200);
    return res.body.id_token as string;
  }

  it('a session started on A signs in on B; a logout on B ends it on A', async () => {
    const browser = new CookieJar();
    const idToken = await signIn(a, browser);
    const onB = await browser.get(b, authorize({ prompt: 'none' }));
    expect(onB.status).toBe(302);
    const code = params(onB).get('code')!;
    const viaB = await tokenRequest(b, { grant_type: 'authorization_code', code, redirect_uri: CB }, { id: rp.client_id, secret: rp.client_secret! });
    expect(decodeJwt(viaB.body.id_token).sid).toBe(decodeJwt(idToken).sid);

    const cookie = browser.cookies.get('gatehouse_sso')!;
    const start = receiver.received.length;
    const logout = await browser.get(b, `/oauth2/logout?${new URLSearchParams({ id_token_hint: idToken })}`);
    expect(logout.status).toBe(200);
    const onA = await browser.get(a, authorize({ prompt: 'none' }));
    expect(params(onA).get('error')).toBe('login_required');
    // Even with the old cookie put back: the session is over in the database.
    const replay = new CookieJar();
    replay.cookies.set('gatehouse_sso', cookie);
    expect(params(await replay.get(a, authorize({ prompt: 'none' }))).get('error')).toBe('login_required');
    const [delivery] = (await receiver.waitFor(start + 1)).slice(start);
    expect((await verifyAgainstJwks(a, delivery.body.get('logout_token')!, { audience: rp.client_id, typ: 'logout+jwt' })).payload.sid).toBe(decodeJwt(idToken).sid);
  });

  it('delivers each notification exactly once while both instances work the queue', async () => {
    const browsers = Array.from({ length: 8 }, () => new CookieJar());
    const sids = new Set<string>();
    for (const [i, browser] of browsers.entries()) sids.add(decodeJwt(await signIn(i % 2 ? b : a, browser)).sid as string);
    const start = receiver.received.length;
    // The receiver is down for the first round, so every row waits for a retry that both instances see due at once.
    receiver.status = 503;
    try {
      expect((await a.http.delete(`/admin/users/${user.id}/sessions`).auth(await a.adminToken(), { type: 'bearer' })).status).toBe(204);
      await until(async () => {
        const rows = await a.db.query('SELECT attempts FROM logout_notifications WHERE session_id IN (' + [...sids].map(() => '?').join(',') + ')', [...sids]);
        return rows.length === 8 && rows.every((r: { attempts: number }) => Number(r.attempts) === 1);
      });
    } finally {
      receiver.status = 200;
    }
    const failedRound = receiver.received.length - start;
    expect(failedRound).toBe(8);
    advance(11_000);
    await Promise.all([a.app.get(BackchannelLogoutService).deliverDue(), b.app.get(BackchannelLogoutService).deliverDue()]);
    await until(async () => {
      const rows = await a.db.query('SELECT delivered_at FROM logout_notifications WHERE session_id IN (' + [...sids].map(() => '?').join(',') + ')', [...sids]);
      return rows.every((r: { delivered_at: unknown }) => r.delivered_at !== null);
    });
    const delivered = receiver.received.slice(start + failedRound).map((d) => decodeJwt(d.body.get('logout_token')!));
    expect(delivered).toHaveLength(8);
    expect(new Set(delivered.map((p) => p.jti)).size).toBe(8);
    expect(new Set(delivered.map((p) => p.sid))).toEqual(sids);
  });

  it('a restart loses no notification: one queued while the receiver was down is delivered by the next instance', async () => {
    const browser = new CookieJar();
    const idToken = await signIn(a, browser);
    const sid = decodeJwt(idToken).sid as string;
    await receiver.stop();
    const start = receiver.received.length;
    try {
      expect((await browser.get(a, `/oauth2/logout?${new URLSearchParams({ id_token_hint: idToken })}`)).status).toBe(200);
      const [row] = await until(async () => {
        const rows = await a.db.query('SELECT id, attempts, last_error FROM logout_notifications WHERE session_id = ?', [sid]);
        return Number(rows[0]?.attempts) === 1 ? rows : undefined;
      });
      expect(row.last_error).toMatch(/ECONNREFUSED|fetch failed/);

      // Both instances stop; a new one starts on the same database, and the receiver is back.
      await b.close({ keepDatabase: true });
      await a.close({ keepDatabase: true });
      await receiver.start();
      const c = await startApp({ database: a.database, env: ENV });
      try {
        c.clock.advance(a.clock.nowMs() - c.clock.nowMs() + 11_000);
        const [delivery] = (await receiver.waitFor(start + 1)).slice(start);
        const { payload } = await verifyAgainstJwks(c, delivery.body.get('logout_token')!, { audience: rp.client_id, typ: 'logout+jwt' });
        expect(payload).toMatchObject({ jti: row.id, sid, sub: user.id });
      } finally {
        await c.close({ keepDatabase: true });
      }
    } finally {
      // afterAll closes these again; start fresh ones on the same database so it can.
      a = await startApp({ database: a.database, env: ENV });
      b = await startApp({ database: a.database, env: ENV });
    }
  });
});

import { request as httpRequest, type ClientRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createConnection } from 'mysql2/promise';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../src/database/open-database';
import { inTransaction } from '../../src/database/retry';
import { read, SqlRunner, write } from '../../src/database/sql-runner';
import { UserInfoService } from '../../src/userinfo/userinfo.service';
import { startApp, type TestApp } from '../support/app';
import { createTestDatabase, testStore, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { adminApi, createClient, createUser, tokenRequest } from '../support/fixtures';
import { HeldJwksServer, privateKeyJwtForm } from '../support/held-jwks';
import { PausableProxy } from '../support/pausable-proxy';
import { freePort } from '../support/service';

/**
 * A database that stops answering without closing its connections (a frozen server, a dropped
 * network path) never holds a request for ever: each MySQL/MariaDB statement waits at most
 * DATABASE_STATEMENT_TIMEOUT_MS, then fails (503 temporarily_unavailable) and its connection is
 * closed and leaves the pool. On MariaDB the freeze is real: the app talks to the server through a
 * TCP proxy that the test pauses (no byte forwarded, nothing closed) and resumes. SQLite runs in the
 * process and cannot freeze: there the same setting must be accepted and change nothing.
 *
 * And a request whose client went away while it waited for its turn at the database is not run.
 */

const TIMEOUT_MS = 1500;
/** Generous: a statement timeout, then the 503's way back, on a loaded 2-core machine. */
const SLACK_MS = 3000;
/** TypeORM's connectTimeout (data-source-options.ts): a new connection to a frozen server fails after it. */
const CONNECT_TIMEOUT_MS = 5000;
const QUEUE_TIMEOUT_MS = 2000;
const UNAVAILABLE = { error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable' };

/** The database of `database` reached through `proxy` (MariaDB), or as it is (SQLite). */
async function throughProxy(database: TestDatabase): Promise<{ url: string; proxy?: PausableProxy }> {
  if (testStore() !== 'mysql') return { url: database.url };
  const target = new URL(database.url);
  const proxy = new PausableProxy(target.hostname, Number(target.port || 3306));
  const port = await freePort();
  await proxy.start(port);
  target.host = `127.0.0.1:${port}`;
  return { url: target.href, proxy };
}

describe('Frozen database: a statement timeout, then 503; departed clients are not served', () => {
  it('answers 503 within the statement timeout while the database is frozen, /health/ready is down, and all works again once it answers', async () => {
    const database = await createTestDatabase();
    const { url, proxy } = await throughProxy(database);
    const o = await startApp({
      database: { url, drop: database.drop },
      env: { DATABASE_STATEMENT_TIMEOUT_MS: String(TIMEOUT_MS), DATABASE_POOL_SIZE: '2', REQUEST_QUEUE_TIMEOUT_MS: String(QUEUE_TIMEOUT_MS) },
    });
    try {
      const client = await createClient(o);
      // An opaque token is written to the database (a JWT one for a recently read client is not).
      const token = () =>
        o.http.post('/oauth2/token').auth(client.client_id, client.client_secret!).type('form').send({ grant_type: 'client_credentials', token_format: 'opaque' }).timeout(60_000);
      expect((await token()).status).toBe(200);

      if (proxy) {
        proxy.pause();
        const frozenAt = Date.now();
        const res = await token();
        const took = Date.now() - frozenAt;
        expect({ status: res.status, body: res.body, retryAfter: res.headers['retry-after'] }).toEqual({ status: 503, body: UNAVAILABLE, retryAfter: '5' });
        expect(took).toBeLessThan(TIMEOUT_MS + SLACK_MS);
        expect((await o.http.get('/health/ready').timeout(60_000)).status).toBe(503);

        // More requests than the pool while frozen: each is answered 503, none hangs and none is a
        // 500. Each is bounded by its wait in the queue, then a new connection's connect timeout or
        // a statement's timeout.
        const during = Date.now();
        const frozen = await Promise.all(Array.from({ length: 4 }, () => token()));
        for (const r of frozen) expect({ status: r.status, error: r.body.error }).toEqual({ status: 503, error: 'temporarily_unavailable' });
        expect(Date.now() - during).toBeLessThan(QUEUE_TIMEOUT_MS + CONNECT_TIMEOUT_MS + TIMEOUT_MS + SLACK_MS);

        proxy.resume();
        const statuses = new Set<number>();
        const back = await eventually(async () => {
          const r = await token();
          statuses.add(r.status);
          return r.status === 200;
        });
        expect(back).toBe(true);
        expect([...statuses].filter((s) => s !== 200 && s !== 503)).toEqual([]);
      }

      // No permit and no connection leaked: a burst larger than the pool is served in full.
      const burst = await Promise.all(Array.from({ length: 20 }, () => token()));
      expect(burst.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect((await o.http.get('/health/ready')).status).toBe(200);
    } finally {
      proxy?.resume();
      await o.close();
      await proxy?.stop();
    }
  });

  describe('a transaction whose statement times out', () => {
    let database: TestDatabase;
    let proxy: PausableProxy | undefined;
    let ds: DataSource;

    beforeAll(async () => {
      database = await createTestDatabase();
      // The schema first, directly; then the data source under test, through the proxy.
      await (await openDatabase(database.url)).destroy();
      const target = await throughProxy(database);
      proxy = target.proxy;
      ds = await openDatabase(target.url, { migrationsRun: false, poolSize: 2, statementTimeoutMs: TIMEOUT_MS });
    });
    afterAll(async () => {
      proxy?.resume();
      await ds?.destroy();
      await proxy?.stop();
      await database.drop();
    });

    const insert = 'INSERT INTO used_jtis (key_hash, expires_at) VALUES (?, ?)';
    const key = (name: string) => `${name}-${testStore()}-${Date.now()}`.padEnd(64, '0').slice(0, 64);

    /** On MariaDB: true once a write of `keyHash` from another connection goes through, i.e. no uncommitted write of it holds its lock. */
    async function committedNowhere(keyHash: string): Promise<boolean> {
      const direct = await createConnection(database.url);
      try {
        await direct.query('SET SESSION innodb_lock_wait_timeout = 1');
        const ok = await eventually(async () => {
          try {
            await direct.execute(insert, [keyHash, 1]);
            return true;
          } catch {
            return false;
          }
        });
        await direct.execute('DELETE FROM used_jtis WHERE key_hash = ?', [keyHash]);
        return ok;
      } finally {
        await direct.end();
      }
    }

    it('fails as a whole (SqlRunner.atomicFlow): nothing of it is committed, the server rolls it back, and the pool serves the next statement', async () => {
      const runner = new SqlRunner(ds);
      const [first, second] = [key('flow-a'), key('flow-b')];
      const flow = function* () {
        yield* write({ sql: insert, params: [first, 1], expect: 1 });
        // The test's own side effect: the server freezes between the two statements.
        proxy?.pause();
        yield* write({ sql: insert, params: [second, 1], expect: 1 });
        return yield* read({ sql: 'SELECT COUNT(*) AS n FROM used_jtis WHERE key_hash IN (?, ?)', params: [first, second], read: (row) => Number(row?.n) });
      };
      if (!proxy) {
        // SQLite: the setting changes nothing; the unit commits.
        await expect(runner.atomicFlow(flow)).resolves.toBe(2);
        return;
      }
      const startedAt = Date.now();
      await expect(runner.atomicFlow(flow)).rejects.toMatchObject({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' });
      expect(Date.now() - startedAt).toBeLessThan(TIMEOUT_MS + SLACK_MS);
      proxy.resume();
      expect(await committedNowhere(first)).toBe(true);
      expect(await committedNowhere(second)).toBe(true);
      const row = await runner.get<{ n: unknown }>('SELECT COUNT(*) AS n FROM used_jtis WHERE key_hash IN (?, ?)', [first, second]);
      expect(Number(row?.n)).toBe(0);
    });

    it('fails as a whole (TypeORM, inTransaction): nothing of it is committed, and the pool serves the next statement', async () => {
      const [first, second] = [key('orm-a'), key('orm-b')];
      const work = inTransaction(ds, async (manager) => {
        await manager.query(insert, [first, 1]);
        proxy?.pause();
        await manager.query(insert, [second, 1]);
        return 'committed';
      });
      if (!proxy) {
        await expect(work).resolves.toBe('committed');
        return;
      }
      const startedAt = Date.now();
      const error = await work.then(
        () => undefined,
        (e: { code?: string; driverError?: { code?: string } }) => e,
      );
      expect(error?.driverError?.code ?? error?.code).toBe('PROTOCOL_SEQUENCE_TIMEOUT');
      expect(Date.now() - startedAt).toBeLessThan(TIMEOUT_MS + SLACK_MS);
      proxy.resume();
      expect(await committedNowhere(first)).toBe(true);
      expect(await committedNowhere(second)).toBe(true);
      const [{ n }] = (await ds.query('SELECT COUNT(*) AS n FROM used_jtis WHERE key_hash IN (?, ?)', [first, second])) as { n: unknown }[];
      expect(Number(n)).toBe(0);
    });
  });

  describe('a client that goes away while its request waits for the database', () => {
    let t: TestApp;
    const jwks = new HeldJwksServer();

    beforeAll(async () => {
      await jwks.start(await freePort());
      t = await startApp({ env: { DATABASE_POOL_SIZE: '1', REQUEST_QUEUE_LIMIT: '20', REQUEST_QUEUE_TIMEOUT_MS: '60000' } });
    });
    afterAll(async () => {
      await jwks.stop();
      await t.close();
    });

    /** A metric of this process (a series without labels). */
    const metric = async (name: string) => {
      const text = (await t.http.get('/metrics')).text;
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return Number(line?.split(' ')[1] ?? NaN);
    };

    it('is not run (its handler is never called, a wrong password it carried counts no failed login), while the requests that waited with it are', async () => {
      const admin = adminApi(() => t, () => adminToken);
      let adminToken = await t.adminToken();
      const client = await createClient(t, { grant_types: ['password'] });
      const [gone, stays] = [await createUser(t), await createUser(t)];
      const login = await tokenRequest(t, { grant_type: 'password', username: stays.username as string, password: stays.password, scope: 'openid' }, { id: client.client_id, secret: client.client_secret! });
      expect(login.status).toBe(200);
      const accessToken = login.body.access_token as string;
      // Counts the UserInfo requests that reach their handler (and runs it as it is).
      const userinfo = jest.spyOn(t.app.get(UserInfoService), 'claims');
      const { jwksUri, signer } = await jwks.publish(`abandon-${testStore()}`);
      const held = await createClient(t, { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri, grant_types: ['client_credentials'] });
      const abandonedBefore = await metric('gatehouse_requests_abandoned_total');
      adminToken = await t.adminToken();

      // The only permit is taken by a request that waits for its client's keys.
      jwks.hold();
      const hitsBefore = jwks.hits;
      const holder = t.http.post('/oauth2/token').type('form').send(await privateKeyJwtForm(held.client_id, signer, t.clock.nowSeconds())).then((r) => r);
      expect(await eventually(async () => jwks.hits === hitsBefore + 1, 20_000)).toBe(true);

      // Behind it: three wrong passwords for `gone` whose clients leave, three for `stays` that wait.
      const form = (username: string) => new URLSearchParams({ grant_type: 'password', username, password: 'wrong password', client_id: client.client_id, client_secret: client.client_secret! }).toString();
      const { port } = t.app.getHttpServer().address() as AddressInfo;
      const leaving: ClientRequest[] = [];
      const leave = (method: string, path: string, headers: Record<string, string>, body?: string) => {
        const req = httpRequest({ host: '127.0.0.1', port, method, path, headers });
        req.on('error', () => undefined);
        req.end(body);
        leaving.push(req);
      };
      // Also three UserInfo GETs that leave: without a body to read, nothing but the gate stops them.
      for (let i = 0; i < 3; i++) {
        leave('POST', '/oauth2/token', { 'content-type': 'application/x-www-form-urlencoded' }, form(gone.username as string));
        leave('GET', '/oauth2/userinfo', { authorization: `Bearer ${accessToken}` });
      }
      const waiting = Array.from({ length: 3 }, () =>
        tokenRequest(t, { grant_type: 'password', username: stays.username as string, password: 'wrong password' }, { id: client.client_id, secret: client.client_secret! }).then((r) => r),
      );
      const waitingUserinfo = Array.from({ length: 3 }, () => t.http.get('/oauth2/userinfo').set('Authorization', `Bearer ${accessToken}`).then((r) => r));
      // All twelve wait in the queue; then the leaving clients hang up, and their requests leave it.
      expect(await eventually(async () => (await metric('gatehouse_admission_waiting')) === 12, 20_000)).toBe(true);
      expect(await metric('gatehouse_admission_active')).toBe(1);
      for (const req of leaving) req.destroy();
      expect(await eventually(async () => (await metric('gatehouse_admission_waiting')) === 6, 20_000)).toBe(true);
      expect(await metric('gatehouse_requests_abandoned_total')).toBe(abandonedBefore + 6);

      jwks.release();
      expect((await holder).status).toBe(200);
      for (const res of await Promise.all(waiting)) expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
      for (const res of await Promise.all(waitingUserinfo)) expect({ status: res.status, sub: res.body.sub }).toEqual({ status: 200, sub: stays.id });
      expect(userinfo).toHaveBeenCalledTimes(3);
      userinfo.mockRestore();

      expect((await admin.get(`/admin/users/${gone.id}`)).body).toMatchObject({ failed_login_count: 0 });
      expect((await admin.get(`/admin/users/${stays.id}`)).body).toMatchObject({ failed_login_count: 3 });
    });
  });
});

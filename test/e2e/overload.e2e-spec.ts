import { createServer, Socket, type Server } from 'node:net';
import { freePort } from '../support/service';
import { startApp, type TestApp } from '../support/app';
import { createTestDatabase, testStore } from '../support/database';
import { createClient } from '../support/fixtures';
import { HeldJwksServer, privateKeyJwtForm } from '../support/held-jwks';
import { authorizePath, pageAlert } from '../support/login-form';

/**
 * Overload (SPEC §8): at most DATABASE_POOL_SIZE requests do database work at once, up to
 * REQUEST_QUEUE_LIMIT more wait at most REQUEST_QUEUE_TIMEOUT_MS, and every other one is answered
 * 503 temporarily_unavailable with Retry-After at once: never a hang. Requests are held inside the
 * service by a jwks_uri that answers when the test says so (a private_key_jwt client's keys).
 */

const OVERLOADED = { error: 'temporarily_unavailable', error_description: 'The service is overloaded; try again shortly' };
const UNAVAILABLE = { error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable' };
/** Free ports, taken when the suite starts (fixed ones in the ephemeral range collided in CI). */
const PORTS = { jwks: 0, proxy: 0 };

describe('Overload: a bounded queue in front of the database, then 503 with Retry-After', () => {
  let t: TestApp;
  const jwks = new HeldJwksServer();

  beforeAll(async () => {
    PORTS.jwks = await freePort();
    PORTS.proxy = await freePort();
    await jwks.start(PORTS.jwks);
    t = await startApp({ env: { DATABASE_POOL_SIZE: '2', REQUEST_QUEUE_LIMIT: '2', REQUEST_QUEUE_TIMEOUT_MS: '300' } });
  });
  afterAll(async () => {
    await jwks.stop();
    await t.close();
  });

  /** A private_key_jwt client whose token request stays in flight until jwks.release(). */
  async function heldClient(name: string) {
    const { jwksUri, signer } = await jwks.publish(`${name}-${testStore()}`);
    const client = await createClient(t, { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri, grant_types: ['client_credentials'] });
    return async () => t.http.post('/oauth2/token').type('form').send(await privateKeyJwtForm(client.client_id, signer, t.clock.nowSeconds())).timeout(30_000);
  }

  async function until(done: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('holds DATABASE_POOL_SIZE requests, refuses the rest with 503 and Retry-After (JSON, or a page on the browser endpoints), and serves again once they finish', async () => {
    const plain = await createClient(t);
    const [first, second] = [await heldClient('first'), await heldClient('second')];
    jwks.hold();
    const hitsBefore = jwks.hits;
    const held = [first(), second()];
    // Both permits are taken: each held request is inside the service, waiting for its keys.
    await until(() => jwks.hits === hitsBefore + 2, 'both held requests to fetch their keys');

    // Beyond the queue's bound (two waiting, 300 ms each), every request is refused: none hangs.
    const refused = await Promise.all(
      Array.from({ length: 6 }, () => t.http.post('/oauth2/token').auth(plain.client_id, plain.client_secret!).type('form').send({ grant_type: 'client_credentials' }).timeout(30_000)),
    );
    for (const res of refused) {
      expect({ status: res.status, body: res.body, retryAfter: res.headers['retry-after'], cache: res.headers['cache-control'] }).toEqual({ status: 503, body: OVERLOADED, retryAfter: '1', cache: 'no-store' });
      expect(res.headers['x-request-id']).toBeDefined();
    }
    const page = await t.http.get(authorizePath({ response_type: 'code', client_id: plain.client_id, redirect_uri: 'https://app.example/cb' })).timeout(30_000);
    expect({ status: page.status, type: page.headers['content-type'], retryAfter: page.headers['retry-after'] }).toEqual({ status: 503, type: 'text/html; charset=utf-8', retryAfter: '1' });
    expect(pageAlert(page.text)).toBe('The service is temporarily unavailable. Please try again in a moment.');
    const admin = await t.http.get('/admin/clients').set('Authorization', 'Bearer x').timeout(30_000);
    expect(admin.status).toBe(503);

    // What needs no database is still served: liveness, discovery, the signing keys.
    expect((await t.http.get('/health/live')).status).toBe(200);
    expect((await t.http.get('/.well-known/openid-configuration')).status).toBe(200);
    expect((await t.http.get('/oauth2/jwks')).status).toBe(200);

    // The held requests finish normally, and their permits go back.
    jwks.release();
    for (const res of await Promise.all(held)) expect({ status: res.status, type: res.body.token_type }).toEqual({ status: 200, type: 'Bearer' });
    const after = await Promise.all(
      Array.from({ length: 4 }, () => t.http.post('/oauth2/token').auth(plain.client_id, plain.client_secret!).type('form').send({ grant_type: 'client_credentials' })),
    );
    expect(after.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  it('a request that waits in the queue gets its turn when a permit frees up within the timeout', async () => {
    const o = await startApp({ env: { DATABASE_POOL_SIZE: '1', REQUEST_QUEUE_LIMIT: '5', REQUEST_QUEUE_TIMEOUT_MS: '120000' } });
    try {
      const plain = await createClient(o);
      const { jwksUri, signer } = await jwks.publish(`queued-${testStore()}`);
      const client = await createClient(o, { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri, grant_types: ['client_credentials'] });
      jwks.hold();
      const hitsBefore = jwks.hits;
      const holder = o.http.post('/oauth2/token').type('form').send(await privateKeyJwtForm(client.client_id, signer, o.clock.nowSeconds())).then((r) => r);
      await until(() => jwks.hits === hitsBefore + 1, 'the held request to fetch its keys');
      let answered = false;
      const waiting = o.http.post('/oauth2/token').auth(plain.client_id, plain.client_secret!).type('form').send({ grant_type: 'client_credentials' }).then((r) => {
        answered = true;
        return r;
      });
      // Not answered while the only permit is taken (it waits, with no timer of ours in the test).
      await new Promise((r) => setTimeout(r, 200));
      expect(answered).toBe(false);
      jwks.release();
      expect((await holder).status).toBe(200);
      expect((await waiting).status).toBe(200);
    } finally {
      await o.close();
    }
  });

  it('a database outage answers 503 with Retry-After, and the service recovers when it is back (figures printed)', async () => {
    // On MariaDB the database really goes away: the app talks to it through a TCP proxy that the
    // test stops (every connection cut, new ones refused) and starts again. SQLite is a file inside
    // the process: the connection is closed and reopened instead.
    const database = await createTestDatabase();
    let proxy: TcpProxy | undefined;
    let url = database.url;
    if (testStore() === 'mysql') {
      const target = new URL(database.url);
      proxy = new TcpProxy(PORTS.proxy, target.hostname, Number(target.port || 3306));
      await proxy.start();
      target.host = `127.0.0.1:${PORTS.proxy}`;
      url = target.href;
    }
    const o = await startApp({ database: { url, drop: database.drop } });
    try {
      const client = await createClient(o);
      // An opaque token is written to the database: a JWT one for a client read in the last
      // CACHE_TTL_SECONDS is answered from memory, outage or not (docs/operations.md#caches).
      const token = () =>
        o.http.post('/oauth2/token').auth(client.client_id, client.client_secret!).type('form').send({ grant_type: 'client_credentials', token_format: 'opaque' }).timeout(60_000);
      expect((await token()).status).toBe(200);

      const stoppedAt = Date.now();
      if (proxy) await proxy.stop();
      else await o.db.destroy();
      let res = await token();
      let polls = 1;
      while (res.status === 200 && polls < 1000) {
        res = await token();
        polls++;
      }
      const timeTo503 = Date.now() - stoppedAt;
      expect({ status: res.status, body: res.body, retryAfter: res.headers['retry-after'] }).toEqual({ status: 503, body: UNAVAILABLE, retryAfter: '5' });
      expect((await o.http.get('/health/ready')).status).toBe(503);

      const restartedAt = Date.now();
      if (proxy) await proxy.start();
      else await o.db.initialize();
      polls = 0;
      do {
        res = await token();
        polls++;
        if (res.status !== 200) await new Promise((r) => setTimeout(r, 20));
      } while (res.status !== 200 && polls < 2000);
      const timeToRecovery = Date.now() - restartedAt;
      expect(res.status).toBe(200);
      expect((await o.http.get('/health/ready')).status).toBe(200);
      process.stdout.write(`[overload ${testStore()}] database stopped: first 503 after ${timeTo503} ms; back: first 200 after ${timeToRecovery} ms (${polls} polls)\n`);
    } finally {
      await o.close();
      await proxy?.stop();
    }
  });
});

/** A TCP proxy to the database server that can be stopped (connections cut, port closed) and started again. */
class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly port: number,
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(this.targetPort, this.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', resolve);
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

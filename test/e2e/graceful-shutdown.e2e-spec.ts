import request from 'supertest';
import { openDatabase } from '../../src/database/open-database';
import { ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, ISSUER } from '../support/app';
import { createTestDatabase, testStore, type TestDatabase } from '../support/database';
import { DEFAULT_PASSWORD } from '../support/fixtures';
import { HeldJwksServer, privateKeyJwtForm } from '../support/held-jwks';
import { compiledService, freePort, Service } from '../support/service';

/**
 * Graceful shutdown (SPEC §8) of the real process (dist/main.js as a child): on SIGTERM it stops
 * accepting connections, lets every request in flight finish with its normal answer, runs the
 * shutdown hooks (the audit events of those requests are written), and exits 0.
 */

/** Free ports, taken when the suite starts (fixed ones in the ephemeral range collided in CI). */
const PORTS = { service: 0, jwks: 0 };
let BASE = '';

describe('Graceful shutdown: SIGTERM finishes the requests in flight and exits 0', () => {
  let outDir: string;
  let db: TestDatabase;
  let service: Service | undefined;
  const jwks = new HeldJwksServer();

  beforeAll(async () => {
    outDir = await compiledService();
    db = await createTestDatabase();
    PORTS.service = await freePort();
    PORTS.jwks = await freePort();
    BASE = `http://127.0.0.1:${PORTS.service}`;
    await jwks.start(PORTS.jwks);
  }, 180_000);
  afterAll(async () => {
    await service?.stop();
    await jwks.stop();
    await db.drop();
  });

  it('answers every request that was in flight when SIGTERM came (200), records their audit events, refuses new connections, and exits 0', async () => {
    service = new Service(outDir, {
      PORT: String(PORTS.service),
      ISSUER,
      DATABASE_URL: db.url,
      BOOTSTRAP_ADMIN_CLIENT_ID: ADMIN_CLIENT_ID,
      BOOTSTRAP_ADMIN_CLIENT_SECRET: ADMIN_CLIENT_SECRET,
      PURGE_INTERVAL_SECONDS: '0',
      LOGIN_RATE_LIMIT: '0',
      LOG_LEVEL: 'info',
    });
    await service.until(() => service!.listeningPids().length === 1, 'Listening', 60_000);
    const http = request(BASE);
    const admin = (await http.post('/oauth2/token').auth(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET).type('form').send({ grant_type: 'client_credentials' })).body.access_token as string;
    const app = await http.post('/admin/clients').auth(admin, { type: 'bearer' }).send({ grant_types: ['password'], scope: 'openid' });
    expect(app.status).toBe(201);
    const user = await http.post('/admin/users').auth(admin, { type: 'bearer' }).send({ username: 'shutdown-user', password: DEFAULT_PASSWORD });
    expect(user.status).toBe(201);
    // Clients whose token requests stay inside the service until the test lets their keys through.
    const held: { clientId: string; signer: Awaited<ReturnType<HeldJwksServer['publish']>>['signer'] }[] = [];
    for (let i = 0; i < 6; i++) {
      const { jwksUri, signer } = await jwks.publish(`shutdown-${testStore()}-${i}`);
      const res = await http.post('/admin/clients').auth(admin, { type: 'bearer' }).send({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri, grant_types: ['client_credentials'] });
      expect(res.status).toBe(201);
      held.push({ clientId: res.body.client_id, signer });
    }

    jwks.hold();
    const hitsBefore = jwks.hits;
    const now = Math.floor(Date.now() / 1000);
    // Slow-ish requests (password hashing) and requests held on their keys, all in flight at SIGTERM.
    const forms = await Promise.all(held.map((c) => privateKeyJwtForm(c.clientId, c.signer, now)));
    const pending: Promise<request.Response>[] = [
      ...Array.from({ length: 8 }, () =>
        http.post('/oauth2/token').auth(app.body.client_id, app.body.client_secret).type('form').send({ grant_type: 'password', username: 'shutdown-user', password: DEFAULT_PASSWORD }).timeout(60_000).then((r) => r),
      ),
      ...forms.map((form) => http.post('/oauth2/token').type('form').send(form).timeout(60_000).then((r) => r)),
    ];
    const deadline = Date.now() + 30_000;
    while (jwks.hits < hitsBefore + held.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(jwks.heldCount).toBe(held.length);

    process.kill(service.pid, 'SIGTERM');
    await service.until(() => service!.output.includes('SIGTERM received'), 'the SIGTERM line');
    // The server stops accepting connections while the held requests are still in flight.
    let refused = false;
    for (let i = 0; i < 200 && !refused; i++) {
      refused = await http.get('/health/live').timeout(5_000).then(
        (res) => res.status === 503,
        (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED',
      );
      if (!refused) await new Promise((r) => setTimeout(r, 10));
    }
    expect(refused).toBe(true);
    expect(service.running).toBe(true);

    jwks.release();
    const answers = await Promise.all(pending);
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
    expect(await service.exit(30_000)).toEqual({ code: 0, signal: null });

    // Every token issued before the exit has its audit event (batched writes are flushed on shutdown).
    const dataSource = await openDatabase(db.url, { migrationsRun: false });
    try {
      const ids = [app.body.client_id, ...held.map((c) => c.clientId)];
      const rows: { n: number | string }[] = await dataSource.query(
        `SELECT COUNT(*) AS n FROM audit_events WHERE type = 'token.issued' AND client_id IN (${ids.map(() => '?').join(', ')})`,
        ids,
      );
      expect(Number(rows[0].n)).toBe(answers.length);
    } finally {
      await dataSource.destroy();
    }
  }, 180_000);
});

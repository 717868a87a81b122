import { join } from 'node:path';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { compiledService, freePort, Service } from '../support/service';

const ADMIN_ID = 'cluster-admin';
const ADMIN_SECRET = 'cluster-admin-secret-0123456789abcdefghij';
const WORKERS = 2;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * SPEC §1: CLUSTER_WORKERS=N runs N worker processes with node:cluster; all state is in the database,
 * so the workers behave as one. The service is compiled (as `npm run build` does, outside the
 * checkout: see compiledService) and started as a real child process.
 */
describe(`CLUSTER_WORKERS=${WORKERS} (SPEC §1)`, () => {
  let outDir: string;

  beforeAll(async () => {
    // Compiling may take minutes on a loaded 2-core machine.
    outDir = await compiledService();
  }, 180_000);

  describe('workers of one host behave as one service', () => {
    let database: TestDatabase | undefined;
    let service: Service;
    let baseUrl: string;
    let workerPids: number[] = [];

    beforeAll(async () => {
      database = await createTestDatabase();
      const port = await freePort();
      baseUrl = `http://127.0.0.1:${port}`;
      service = new Service(outDir, {
        PORT: String(port),
        ISSUER: baseUrl,
        DATABASE_URL: database.url,
        CLUSTER_WORKERS: String(WORKERS),
        LOG_LEVEL: 'info',
        BOOTSTRAP_ADMIN_CLIENT_ID: ADMIN_ID,
        BOOTSTRAP_ADMIN_CLIENT_SECRET: ADMIN_SECRET,
      });
      // Every worker logs "Listening on port" once it serves.
      await service.until(() => service.listeningPids().length >= WORKERS, 'the workers to listen');
      workerPids = service.listeningPids();
    }, 40_000);

    afterAll(async () => {
      await service?.stop();
      await database?.drop();
    });

    /** Every request on a new connection, so that the primary hands them to the workers in turn. */
    const http = () => request(baseUrl);
    const get = (path: string) => http().get(path).set('Connection', 'close');
    const post = (path: string) => http().post(path).set('Connection', 'close');

    let adminToken: string;
    const admin = (path: string, body: object) => post(path).auth(adminToken, { type: 'bearer' }).send(body);

    it('runs a primary and two workers that share one freshly migrated database', async () => {
      expect(workerPids).toHaveLength(WORKERS);
      expect(workerPids).not.toContain(service.pid);
      for (const pid of workerPids) expect(alive(pid)).toBe(true);

      const ready = await get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.status).toBe('ok');
      // The migrations ran and the keys were generated once, not once per worker: both answer with the same three keys.
      const kids = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const res = await get('/oauth2/jwks');
        expect(res.status).toBe(200);
        expect(res.body.keys).toHaveLength(3);
        kids.add(res.body.keys.map((k: { kid: string }) => k.kid).sort().join(' '));
      }
      expect(kids.size).toBe(1);
      expect((service.output.match(/Generated RS256 signing key/g) ?? []).length).toBe(1);
      expect((service.output.match(/Created the bootstrap admin client/g) ?? []).length).toBe(1);
    });

    it('issues tokens on one worker that every worker accepts, and shares rotation, revocation and reuse detection', async () => {
      const adminLogin = await post('/oauth2/token').auth(ADMIN_ID, ADMIN_SECRET).type('form').send({ grant_type: 'client_credentials' });
      expect(adminLogin.status).toBe(200);
      adminToken = adminLogin.body.access_token;
      const client = await admin('/admin/clients', {
        client_id: 'cluster-app',
        grant_types: ['password', 'refresh_token'],
        scope: 'openid profile offline_access',
        default_scope: 'openid profile offline_access',
      });
      expect(client.status).toBe(201);
      const user = await admin('/admin/users', { username: 'cluster-user', password: 'correct horse battery staple', name: 'Clustered' });
      expect(user.status).toBe(201);
      const basic = (req: request.Test) => req.auth('cluster-app', client.body.client_secret);
      const token = (form: Record<string, string>) => basic(post('/oauth2/token')).type('form').send(form);

      for (const token_format of ['jwt', 'opaque']) {
        const login = await token({ grant_type: 'password', username: 'cluster-user', password: 'correct horse battery staple', token_format });
        expect(login.status).toBe(200);
        // Whichever worker serves each request, the token is valid there.
        for (let i = 0; i < 8; i++) {
          const me = await get('/oauth2/userinfo').auth(login.body.access_token, { type: 'bearer' });
          expect({ i, status: me.status, body: me.body }).toEqual({ i, status: 200, body: { sub: user.body.id, name: 'Clustered', preferred_username: 'cluster-user', updated_at: expect.any(Number) } });
          const introspection = await basic(post('/oauth2/introspect')).type('form').send({ token: login.body.access_token });
          expect({ i, active: introspection.body.active }).toEqual({ i, active: true });
        }

        // A rotation chain across workers: each refresh token is spent once, wherever it was issued.
        const chain = [login.body.refresh_token as string];
        for (let i = 0; i < 6; i++) {
          const next = await token({ grant_type: 'refresh_token', refresh_token: chain[chain.length - 1] });
          expect({ i, status: next.status }).toEqual({ i, status: 200 });
          chain.push(next.body.refresh_token);
        }
        // Reusing a spent token on any worker ends the family everywhere.
        const reuse = await token({ grant_type: 'refresh_token', refresh_token: chain[2] });
        expect(reuse.body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has already been used' });
        for (let i = 0; i < 4; i++) {
          const latest = await token({ grant_type: 'refresh_token', refresh_token: chain[chain.length - 1] });
          expect(latest.body).toEqual({ error: 'invalid_grant', error_description: 'Refresh token has been revoked' });
          const me = await get('/oauth2/userinfo').auth(login.body.access_token, { type: 'bearer' });
          expect(me.status).toBe(401);
        }
      }

      // Revocation on one worker is seen at once by all.
      const session = await token({ grant_type: 'password', username: 'cluster-user', password: 'correct horse battery staple' });
      expect((await basic(post('/oauth2/revoke')).type('form').send({ token: session.body.refresh_token })).status).toBe(200);
      for (let i = 0; i < 4; i++) {
        expect((await get('/oauth2/userinfo').auth(session.body.access_token, { type: 'bearer' })).status).toBe(401);
      }
    });

    it('served those requests on both workers, and /metrics reports every worker whichever one answers', async () => {
      for (let i = 0; i < 2; i++) {
        const res = await get('/metrics');
        expect(res.status).toBe(200);
        const workers = [...res.text.matchAll(/^gatehouse_http_requests_total\{[^}]*route="\/oauth2\/userinfo"[^}]*worker="(\d+)"[^}]*\} (\d+)$/gm)];
        const byWorker = new Map<string, number>();
        for (const [, worker, count] of workers) byWorker.set(worker, (byWorker.get(worker) ?? 0) + Number(count));
        expect(byWorker.size).toBe(WORKERS);
        for (const count of byWorker.values()) expect(count).toBeGreaterThan(0);
        // 2 formats x (8 + 4) UserInfo calls, plus 4 after the revocation.
        expect([...byWorker.values()].reduce((a, b) => a + b, 0)).toBe(2 * 12 + 4);
      }
    });

    it('replaces a worker that dies, and keeps serving', async () => {
      const [victim] = workerPids;
      process.kill(victim, 'SIGKILL');
      await service.until(() => service.listeningPids().length > WORKERS, 'a replacement worker');
      const replacement = service.listeningPids().find((pid) => !workerPids.includes(pid))!;
      expect(service.output).toContain(`Worker ${victim} exited with signal SIGKILL; starting a new one`);
      expect(alive(victim)).toBe(false);
      expect(alive(replacement)).toBe(true);
      for (let i = 0; i < 4; i++) expect((await get('/health/ready')).status).toBe(200);
      workerPids = workerPids.filter((pid) => pid !== victim).concat(replacement);
    });

    it('on SIGTERM lets its workers shut down, then exits 0', async () => {
      process.kill(service.pid, 'SIGTERM');
      expect(await service.exit()).toEqual({ code: 0, signal: null });
      for (const pid of workerPids) expect(alive(pid)).toBe(false);
    });
  });

  it('stops with a non-zero status, instead of idling, when its workers cannot start', async () => {
    // A database path below a regular file: every worker would fail the same way.
    const file = join(outDir, 'main.js');
    const service = new Service(outDir, { PORT: String(await freePort()), CLUSTER_WORKERS: String(WORKERS), DATABASE_URL: `sqlite:${file}/gatehouse.sqlite` });
    try {
      expect(await service.exit()).toEqual({ code: 1, signal: null });
      expect(service.output).toMatch(/Worker \d+ failed to start \(exited with code 1\); stopping/);
      // The worker said why, in one line.
      expect(service.stderr).toContain(`Database unusable: DATABASE_URL names the SQLite file "${file}/gatehouse.sqlite", which cannot be opened for writing`);
      expect(service.listeningPids()).toEqual([]);
    } finally {
      await service.stop();
    }
  });
});

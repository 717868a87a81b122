import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '../support/database';

const ROOT = resolve(__dirname, '../..');
const ADMIN_ID = 'cluster-admin';
const ADMIN_SECRET = 'cluster-admin-secret-0123456789abcdefghij';
const WORKERS = 2;

/** A free TCP port on the loopback interface (the child binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** A service started as a child process: the primary, in its own process group with its workers. */
class Service {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(outDir: string, env: Record<string, string>) {
    this.child = spawn(process.execPath, [join(outDir, 'main.js')], {
      cwd: outDir,
      // Its own process group, so that the workers go with the primary whatever happens.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH!,
        // The compiled files live outside the checkout; their dependencies are the checkout's.
        NODE_PATH: join(ROOT, 'node_modules'),
        NODE_ENV: 'production',
        LOG_LEVEL: 'log',
        NO_COLOR: '1',
        ...env,
      },
    });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((done) => this.child.once('exit', (code, signal) => done({ code, signal })));
    process.once('exit', this.kill);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Pids of the processes that logged "Listening on port": the workers, in the order they started. */
  listeningPids(): number[] {
    return [...new Set([...this.output.matchAll(/\[Nest\] (\d+) .*Listening on port/g)].map((m) => Number(m[1])))];
  }

  /** Waits (polling the output, at most `ms`) until `done()` holds; fails with the output otherwise. */
  async until(done: () => boolean, what: string, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (!this.running) throw new Error(`The service exited while waiting for ${what}:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The exit status, once the primary has exited; fails if it is still running after `ms`. */
  async exit(ms = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`Still running after ${ms} ms:\n${this.output}`)), ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the primary and its workers (one process group, started here), synchronously. */
  readonly kill = () => {
    if (!this.running) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };

  async stop(): Promise<void> {
    process.off('exit', this.kill);
    if (this.running) {
      this.kill();
      await this.exited;
    }
  }
}

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
 * so the workers behave as one. The service is compiled (as `npm run build` does, into a temporary
 * directory, so parallel runs never share an output) and started as a real child process.
 */
describe(`CLUSTER_WORKERS=${WORKERS} (SPEC §1)`, () => {
  let outDir: string;

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'gatehouse-dist-'));
    await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', outDir]);
  }, 180_000);
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

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
      expect(service.listeningPids()).toEqual([]);
    } finally {
      await service.stop();
    }
  });
});

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createTestDatabase, testStore, type TestDatabase } from '../support/database';
import { compiledService, freePort, Service, serviceEnv } from '../support/service';

/**
 * Issue 12, items 3 to 5, on the real process (compiled, started as a child): what an operator sees
 * when the service starts, fails to start, and serves. SPEC §7: LOG_LEVEL, and one line with a
 * hint when the database cannot be used.
 */
describe('Start-up and logs of the real process', () => {
  let outDir: string;
  const services: Service[] = [];
  const databases: TestDatabase[] = [];

  beforeAll(async () => {
    outDir = await compiledService();
  }, 180_000);
  afterEach(async () => {
    for (const service of services.splice(0)) await service.stop();
  });
  afterAll(async () => {
    for (const database of databases) await database.drop();
  });

  async function database(): Promise<TestDatabase> {
    const db = await createTestDatabase();
    databases.push(db);
    return db;
  }

  async function start(env: Record<string, string>, options: { combined?: boolean; cwd?: string } = {}): Promise<{ service: Service; baseUrl: string }> {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const service = new Service(outDir, { PORT: String(port), ISSUER: baseUrl, PURGE_INTERVAL_SECONDS: '0', ...env }, options);
    services.push(service);
    return { service, baseUrl };
  }

  /** Polls /health/live until the service answers (it may log nothing to say it is up). */
  async function answering(service: Service, baseUrl: string): Promise<request.Response> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await request(baseUrl).get('/health/live').catch(() => undefined);
      if (res?.status === 200) return res;
      if (!service.running) throw new Error(`The service exited:\n${service.output}`);
      if (Date.now() > deadline) throw new Error(`The service did not answer:\n${service.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const adminToken = (baseUrl: string, id: string, secret: string) =>
    request(baseUrl).post('/oauth2/token').auth(id, secret).type('form').send({ grant_type: 'client_credentials' });

  /** The box main.ts prints: the lines from the first rule to the last. */
  const BOX = /\+-+\+\n(?:\|.*\|\n)+\+-+\+\n/;
  const secretIn = (box: string) => /\| {3}client_secret {2}([A-Za-z0-9_-]{43}) +\|/.exec(box)?.[1];

  describe('bootstrap admin secret (item 3)', () => {
    it('is printed once, alone on stderr, even at LOG_LEVEL=fatal, and works; a restart prints nothing', async () => {
      const db = await database();
      const { service, baseUrl } = await start({ DATABASE_URL: db.url, LOG_LEVEL: 'fatal' });
      await service.until(() => BOX.test(service.stderr), 'the boxed admin secret');
      // Nothing but the box: at fatal, no log line at all, on either stream.
      expect(service.stderr).toMatch(new RegExp(`^${BOX.source}$`));
      expect(service.stdout).toBe('');
      expect(service.stderr).toContain('|   client_id      gatehouse-admin ');
      expect(service.stderr).toContain('Lost it? `npm run admin -- reset-admin-secret` issues a new one');
      const secret = secretIn(service.stderr)!;
      const token = await adminToken(baseUrl, 'gatehouse-admin', secret);
      expect(token.status).toBe(200);
      expect(token.body.scope).toBe('admin');
      // Requests at fatal: no line, but still an id.
      const live = await request(baseUrl).get('/health/live');
      expect(live.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(service.stdout).toBe('');
      await service.stop();

      const again = await start({ DATABASE_URL: db.url, LOG_LEVEL: 'info' });
      await again.service.until(() => again.service.listeningPids().length === 1, 'Listening');
      expect((await adminToken(again.baseUrl, 'gatehouse-admin', secret)).status).toBe(200);
      expect(again.service.stderr).toBe('');
      expect(again.service.output).not.toContain(secret);
    });

    it('comes last, after the "Listening" line, and no log line carries it', async () => {
      const db = await database();
      const { service, baseUrl } = await start({ DATABASE_URL: db.url, LOG_LEVEL: 'trace' }, { combined: true });
      await service.until(() => BOX.test(service.output), 'the boxed admin secret');
      const output = service.output;
      const box = BOX.exec(output)!;
      expect(output.slice(box.index + box[0].length)).toBe('');
      const before = output.slice(0, box.index).split('\n').filter(Boolean);
      // Everything before the box is JSON log lines, the last of them "Listening".
      for (const line of before) expect(() => JSON.parse(line)).not.toThrow();
      expect(JSON.parse(before[before.length - 1])).toMatchObject({ level: 'info', context: 'Gatehouse', msg: `Listening on port ${new URL(baseUrl).port} (issuer ${baseUrl})` });
      const secret = secretIn(box[0])!;
      expect(output.split(secret)).toHaveLength(2);
      // Used, it stays out of the logs too (LOG_LEVEL=trace: everything is logged).
      expect((await adminToken(baseUrl, 'gatehouse-admin', secret)).status).toBe(200);
      await service.until(() => service.logEntries().some((e) => (e.req as { url?: string } | undefined)?.url === '/oauth2/token'), 'the token request line');
      expect(service.output.split(secret)).toHaveLength(2);
    });
  });

  describe('structured logs (item 4)', () => {
    it('LOG_LEVEL=info: JSON lines, one per request with its id, no route mapping; an incoming X-Request-Id is kept when sane', async () => {
      const db = await database();
      const { service, baseUrl } = await start({ DATABASE_URL: db.url, LOG_LEVEL: 'info', BOOTSTRAP_ADMIN_CLIENT_ID: 'ops-admin', BOOTSTRAP_ADMIN_CLIENT_SECRET: 'ops-admin-secret-0123456789abcdefghij' });
      await service.until(() => service.listeningPids().length === 1, 'Listening');

      const kept = await request(baseUrl).get('/health/live').set('X-Request-Id', 'lb-7f3a:42');
      expect(kept.headers['x-request-id']).toBe('lb-7f3a:42');
      const replaced = await request(baseUrl).get('/health/live').set('X-Request-Id', 'x'.repeat(200));
      expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const failed = await request(baseUrl).post('/oauth2/token').auth('ops-admin', 'wrong-secret').type('form').send({ grant_type: 'client_credentials', password: 'p4ssw0rd-in-body' });
      expect(failed.status).toBe(401);
      const unknown = await request(baseUrl).get('/no/such/path');
      expect(unknown.status).toBe(404);
      await service.until(() => service.logEntries().filter((e) => e.msg === 'request completed').length === 4, 'four request lines');

      // Every line is JSON; the request lines carry the id the client saw, and nothing of the headers or body.
      const entries = service.logEntries();
      expect(service.stdout.split('\n').filter(Boolean)).toHaveLength(entries.length);
      const lines = entries.filter((e) => e.msg === 'request completed');
      expect(lines.map((e) => [(e.req as { id: string }).id, (e.req as { url: string }).url, (e.res as { statusCode: number }).statusCode])).toEqual([
        ['lb-7f3a:42', '/health/live', 200],
        [replaced.headers['x-request-id'], '/health/live', 200],
        [failed.headers['x-request-id'], '/oauth2/token', 401],
        [unknown.headers['x-request-id'], '/no/such/path', 404],
      ]);
      for (const line of lines) {
        expect(line).toEqual({
          level: 'info',
          time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          pid: service.pid,
          hostname: expect.any(String),
          req: { id: expect.any(String), method: expect.any(String), url: expect.any(String), remoteAddress: expect.any(String) },
          res: { statusCode: expect.any(Number) },
          responseTime: expect.any(Number),
          msg: 'request completed',
        });
      }
      expect(service.output).not.toContain('wrong-secret');
      expect(service.output).not.toContain('p4ssw0rd-in-body');
      expect(service.output).not.toContain(Buffer.from('ops-admin:wrong-secret').toString('base64'));
      // Nest's start-up chatter is debug: not shown at info.
      expect(entries.filter((e) => /^Mapped \{/.test(String(e.msg)) || e.context === 'InstanceLoader')).toEqual([]);
      expect(service.stderr).toBe('');
    });

    it('LOG_LEVEL=warn: start-up and requests write nothing, and the request id is still echoed', async () => {
      const db = await database();
      const { service, baseUrl } = await start({ DATABASE_URL: db.url, LOG_LEVEL: 'warn', BOOTSTRAP_ADMIN_CLIENT_ID: 'ops-admin', BOOTSTRAP_ADMIN_CLIENT_SECRET: 'ops-admin-secret-0123456789abcdefghij' });
      const live = await answering(service, baseUrl);
      expect(live.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect((await request(baseUrl).get('/oauth2/jwks')).status).toBe(200);
      expect((await request(baseUrl).post('/oauth2/token').type('form').send({ grant_type: 'client_credentials' })).status).toBe(401);
      expect(service.output).toBe('');
    });

    it('pretty-prints for a person when stdout is a terminal', async () => {
      const db = await database();
      const port = await freePort();
      // script(1) runs the service on a pseudo-terminal; its output is the terminal's.
      const child = spawn('script', ['-qefc', `"${process.execPath}" "${join(outDir, 'main.js')}"`, '/dev/null'], {
        cwd: outDir,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: serviceEnv({ PORT: String(port), DATABASE_URL: db.url, LOG_LEVEL: 'info', PURGE_INTERVAL_SECONDS: '0', BOOTSTRAP_ADMIN_CLIENT_ID: 'ops-admin', BOOTSTRAP_ADMIN_CLIENT_SECRET: 'ops-admin-secret-0123456789abcdefghij' }),
      });
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      try {
        const deadline = Date.now() + 30_000;
        while (!/Listening on port/.test(output) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
        expect(output).toMatch(/INFO: \[KeysService\] Generated RS256 signing key/);
        expect(output).toMatch(/INFO: \[Gatehouse\] Listening on port \d+/);
        expect(output).not.toMatch(/^\{"level"/m);
      } finally {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    });
  });

  describe('an unusable database or port stops start-up with one line and a hint (item 5)', () => {
    /** Starts the service expecting it to exit 1 with `line` alone on stderr: no stack, no retry, no log line. */
    async function failsWith(env: Record<string, string>, line: string | RegExp, options: { cwd?: string } = {}): Promise<Service> {
      const { service } = await start({ LOG_LEVEL: 'info', ...env }, options);
      expect(await service.exit()).toEqual({ code: 1, signal: null });
      const lines = service.stderr.split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(1);
      if (typeof line === 'string') expect(lines[0]).toBe(line);
      else expect(lines[0]).toMatch(line);
      expect(service.output).not.toMatch(/Retrying|\n\s+at /);
      return service;
    }

    it('a database server that does not answer', async () => {
      const port = await freePort();
      const service = await failsWith(
        { DATABASE_URL: `mysql://gatehouse:pw-not-shown@127.0.0.1:${port}/gatehouse` },
        `Database unusable: DATABASE_URL points at 127.0.0.1:${port}, where nothing accepts connections: start MariaDB/MySQL there, or correct the host and port in DATABASE_URL`,
      );
      expect(service.stdout).toBe('');
      expect(service.output).not.toContain('pw-not-shown');
    });

    if (testStore() === 'mysql') {
      const server = () => new URL(process.env.TEST_DATABASE_URL!);

      it('MariaDB: a database that does not exist, with the CREATE DATABASE to run', async () => {
        const url = server();
        url.pathname = `/gh_missing_${process.pid}`;
        const service = await failsWith(
          { DATABASE_URL: url.href },
          `Database unusable: DATABASE_URL names database "gh_missing_${process.pid}", which does not exist on ${url.hostname}:${url.port || 3306}: ` +
            `create it with CREATE DATABASE \`gh_missing_${process.pid}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
        );
        expect(service.stdout).toBe('');
      });

      it('MariaDB: a user or password the server refuses, naming the user and never the password', async () => {
        const db = await database();
        const url = new URL(db.url);
        url.username = 'gh_nobody';
        url.password = 'wrong-pass-0123';
        const service = await failsWith(
          { DATABASE_URL: url.href },
          new RegExp(
            `^Database unusable: DATABASE_URL user "gh_nobody" was refused by ${url.hostname}:${url.port || 3306} \\(Access denied for user 'gh_nobody'@'[^']+' \\(using password: YES\\)\\): ` +
              `check the user and password in DATABASE_URL \\(percent-encode special characters\\), and that the user may use the database: GRANT ALL PRIVILEGES ON \`${url.pathname.slice(1)}\`\\.\\* TO 'gh_nobody'@'%'$`,
          ),
        );
        expect(service.output).not.toContain('wrong-pass-0123');
      });
    } else {
      it('SQLite: a path that cannot be created', async () => {
        const file = join(outDir, 'main.js');
        await failsWith(
          { DATABASE_URL: `sqlite:${file}/gatehouse.sqlite` },
          new RegExp(`^Database unusable: DATABASE_URL names the SQLite file "${file}/gatehouse.sqlite", which cannot be opened for writing \\((ENOTDIR|EEXIST): .*\\): point DATABASE_URL at a writable location, e\\.g\\. sqlite:\\./data/gatehouse\\.sqlite$`),
        );
      });

      it('SQLite: a file that is not a database', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'gatehouse-notadb-'));
        try {
          writeFileSync(join(dir, 'notes.sqlite'), 'These are notes, not a database.\n'.repeat(200));
          await failsWith(
            { DATABASE_URL: `sqlite:${join(dir, 'notes.sqlite')}` },
            `Database unusable: DATABASE_URL names "${join(dir, 'notes.sqlite')}", which is not a usable SQLite database (file is not a database): point DATABASE_URL at another file, or restore this one from a backup`,
          );
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('SQLite: sqlite://./path stays relative to the working directory; sqlite:///path is refused with the right syntax', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cwd-'));
        try {
          const { service, baseUrl } = await start({ DATABASE_URL: 'sqlite://./data/relative.sqlite', LOG_LEVEL: 'warn' }, { cwd: dir });
          await answering(service, baseUrl);
          expect(existsSync(join(dir, 'data/relative.sqlite'))).toBe(true);
          expect(existsSync('/data/relative.sqlite')).toBe(false);
          await service.stop();

          await failsWith(
            { DATABASE_URL: 'sqlite:///data/relative.sqlite' },
            'Invalid configuration: DATABASE_URL in the sqlite:// form is ambiguous: write sqlite:./data/gatehouse.sqlite for a path relative to the working directory, or sqlite:/var/lib/gatehouse/gatehouse.sqlite for an absolute one',
            { cwd: dir },
          );
          expect(existsSync('/data/relative.sqlite')).toBe(false);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }

    describe('a port in use', () => {
      let holder: Server;
      let port: number;
      beforeAll(async () => {
        holder = createServer();
        await new Promise<void>((done) => holder.listen(0, '0.0.0.0', done));
        port = (holder.address() as { port: number }).port;
      });
      afterAll(() => new Promise<void>((done) => holder.close(() => done())));

      it('is reported in one line, with nothing before it claiming a successful start (even at LOG_LEVEL=debug)', async () => {
        const db = await database();
        const service = new Service(outDir, { PORT: String(port), DATABASE_URL: db.url, LOG_LEVEL: 'debug', PURGE_INTERVAL_SECONDS: '0' });
        services.push(service);
        expect(await service.exit()).toEqual({ code: 1, signal: null });
        expect(service.stderr).toBe(`Cannot listen: PORT ${port} is already in use; stop the process that holds it, or set PORT to a free port\n`);
        const entries = service.logEntries();
        expect(service.stdout.split('\n').filter(Boolean)).toHaveLength(entries.length);
        // Debug shows Nest's route mapping; nothing says the application started or listens.
        expect(entries).toContainEqual(expect.objectContaining({ level: 'debug', context: 'RouterExplorer', msg: 'Mapped {/oauth2/token, POST} route' }));
        expect(service.output).not.toMatch(/successfully started|Listening on port/);
        // Nest's own report of the failed listen is debug: the one line on stderr says it all.
        expect(entries.filter((e) => e.level !== 'debug' && e.level !== 'trace' && e.level !== 'info')).toEqual([]);
        expect(entries).toContainEqual(expect.objectContaining({ level: 'debug', context: 'NestApplication', msg: expect.stringMatching(/^Error: listen EADDRINUSE/) }));
      });
    });
  });
});


import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { createApp } from '../../src/app.factory';
import { BootstrapService } from '../../src/bootstrap.service';
import { sha256Hex } from '../../src/common/crypto';
import { loadConfig } from '../../src/config/app-config';
import { ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, ISSUER, startApp, type TestApp } from '../support/app';
import { createTestDatabase, testStore, type TestDatabase } from '../support/database';
import { createClient, tokenRequest } from '../support/fixtures';
import { captureLogs } from '../support/logs';

/** The service around the endpoints: health, OpenAPI, migrations, key storage, bootstrap admin, robustness. */

const MIGRATIONS = [
  'InitialSchema1763850000000',
  'ExactIdentifierCollation1763900000000',
  'Utf8mb4Everywhere1764000000000',
  'ClientSecretJwt1764000000009',
  'LoginThrottle1764100000000',
  'TrustEndUserIpHeader1765600000000',
  'AuthorizationCodesUserIndex1765600000001',
  'LoginNamesNfc1765600000002',
  'BrowserSessions1765700000000',
  'AllowedCorsOrigins1765800000000',
  'ClientAuthFailures1765900000000',
];
const TABLES = [
  'access_tokens',
  'audit_events',
  'authorization_codes',
  'browser_session_clients',
  'browser_sessions',
  'client_auth_failures',
  'clients',
  'keys',
  'login_throttle',
  'logout_notifications',
  'migrations',
  'policy',
  'refresh_tokens',
  'token_families',
  'used_jtis',
  'users',
];
const KEK = 'a-key-encryption-secret-of-at-least-32-chars';

async function tables(t: TestApp): Promise<string[]> {
  const rows: { name: string }[] =
    testStore() === 'mysql'
      ? await t.db.query('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()')
      : await t.db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  return rows.map((r) => r.name).sort();
}

async function jwksOf(t: TestApp): Promise<JSONWebKeySet> {
  const res = await t.http.get('/oauth2/jwks');
  expect(res.status).toBe(200);
  return res.body as JSONWebKeySet;
}

async function adminClientRow(t: TestApp, clientId = ADMIN_CLIENT_ID): Promise<Record<string, unknown>> {
  const [row] = await t.db.query('SELECT * FROM clients WHERE client_id = ?', [clientId]);
  return row;
}

/** Starts the app on `database` expecting start-up to fail; returns the error. */
async function failedStart(database: TestDatabase, env: Record<string, string>): Promise<Error> {
  const config = loadConfig({
    ISSUER,
    DATABASE_URL: database.url,
    BOOTSTRAP_ADMIN_CLIENT_ID: ADMIN_CLIENT_ID,
    BOOTSTRAP_ADMIN_CLIENT_SECRET: ADMIN_CLIENT_SECRET,
    PURGE_INTERVAL_SECONDS: '0',
    ...env,
  });
  const app = await createApp(config, { logStream: { write: () => undefined } });
  let failure: Error | undefined;
  try {
    await app.init();
  } catch (error) {
    failure = error as Error;
  }
  await app.close();
  if (!failure) throw new Error('start-up was expected to fail');
  return failure;
}

describe('Platform', () => {
  describe('health, OpenAPI and robustness', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp();
    });
    afterAll(() => t.close());

    it('answers liveness and readiness (database up)', async () => {
      const live = await t.http.get('/health/live');
      expect(live.status).toBe(200);
      expect(live.body).toEqual({ status: 'ok', info: {}, error: {}, details: {} });
      const ready = await t.http.get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.status).toBe('ok');
      expect(ready.body.info.database.status).toBe('up');
      // Health checks need no credentials.
      expect(ready.headers['www-authenticate']).toBeUndefined();
    });

    it('serves Swagger UI at /docs', async () => {
      const res = await t.http.get('/docs');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain('<div id="swagger-ui">');
      const init = await t.http.get('/docs/swagger-ui-init.js');
      expect(init.status).toBe(200);
      expect(init.text).toContain('"swaggerDoc"');
      expect(init.text).toContain('"title": "Gatehouse"');
    });

    describe('the OpenAPI document at /docs-json', () => {
      let doc: { openapi: string; paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown>; requestBody?: { content: Record<string, unknown> }; 'x-aliases'?: string[] }>>; components: { securitySchemes: Record<string, unknown> } };
      beforeAll(async () => {
        const res = await t.http.get('/docs-json');
        expect(res.status).toBe(200);
        doc = res.body;
      });

      it('is OpenAPI 3 and lists the endpoints of SPEC §2 that exist', () => {
        expect(doc.openapi).toMatch(/^3\./);
        expect(Object.keys(doc.paths)).toEqual(
          expect.arrayContaining([
            '/oauth2/token',
            '/oauth2/jwks',
            '/.well-known/openid-configuration',
            '/admin/clients',
            '/admin/clients/{client_id}',
            '/admin/clients/{client_id}/secret',
            '/admin/users',
            '/admin/users/{id}',
            '/admin/users/{id}/password',
            '/admin/users/{id}/lock',
            '/admin/users/{id}/unlock',
            '/admin/users/{id}/sessions',
            '/admin/policy',
            '/admin/keys/rotate',
            '/admin/audit-events',
            '/health/live',
            '/health/ready',
          ]),
        );
        // Aliases are no operations of their own: the canonical operation lists them.
        expect(doc.paths['/oauth2/token'].post['x-aliases']).toEqual(['/oidc/token', '/api/v1/oauth2/token']);
        expect(doc.paths['/oauth2/jwks'].get['x-aliases']).toEqual(['/.well-known/jwks.json']);
        expect(doc.paths['/.well-known/openid-configuration'].get['x-aliases']).toEqual(['/.well-known/oauth-authorization-server']);
        expect(Object.keys(doc.paths['/oauth2/token'].post.requestBody!.content)).toEqual(['application/x-www-form-urlencoded']);
        expect(doc.paths['/oauth2/token'].post.security).toEqual([{ client: [] }]);
      });

      it('documents every route the server actually serves', () => {
        const tree = t.app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
        const served: string[] = [];
        const stack: string[] = [];
        for (const line of tree.split('\n')) {
          const match = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
          if (!match) continue;
          const depth = match[1].length / 4;
          stack.length = depth;
          const path = (stack[depth - 1] ?? '') + match[2];
          stack[depth] = path;
          for (const method of match[3]?.split(', ') ?? []) {
            if (method === 'HEAD' || path.startsWith('/docs')) continue;
            served.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
          }
        }
        expect(served.length).toBeGreaterThan(20);
        // Other methods on the OAuth endpoints are no routes: the exception filter answers them 405.
        // An alias path is documented by the canonical operation that lists it in x-aliases.
        const aliasOf = new Map(
          Object.entries(doc.paths).flatMap(([path, operations]) =>
            Object.values(operations).flatMap((operation) => (operation['x-aliases'] ?? []).map((alias) => [alias, path] as const)),
          ),
        );
        const undocumented = served.filter((route) => {
          const [method, path] = route.split(' ');
          return !doc.paths[aliasOf.get(path) ?? path]?.[method.toLowerCase()];
        });
        expect(undocumented).toEqual([]);
      });

      it('protects every admin operation with the admin schemes: a token Swagger UI fetches, or a bearer token', () => {
        expect(doc.components.securitySchemes.admin).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
        expect(doc.components.securitySchemes.admin_client).toMatchObject({ type: 'oauth2', flows: { clientCredentials: { scopes: { admin: expect.any(String) } } } });
        const adminOperations = Object.entries(doc.paths)
          .filter(([path]) => path.startsWith('/admin/'))
          .flatMap(([path, operations]) => Object.entries(operations).map(([method, operation]) => ({ route: `${method} ${path}`, operation })));
        expect(adminOperations.length).toBeGreaterThanOrEqual(18);
        for (const { route, operation } of adminOperations) {
          expect({ route, security: operation.security }).toEqual({ route, security: [{ admin_client: ['admin'] }, { admin: [] }] });
          expect({ route, responses: Object.keys(operation.responses) }).toEqual({ route, responses: expect.arrayContaining(['401', '403']) });
        }
        for (const path of ['/health/live', '/health/ready', '/oauth2/jwks', '/.well-known/openid-configuration']) {
          expect(doc.paths[path].get.security).toBeUndefined();
        }
      });
    });

    describe('no input produces a 5xx', () => {
      it('refuses a huge body with 413, in the OAuth error shape at the token endpoint', async () => {
        const token = await t.http.post('/oauth2/token').type('form').send(`grant_type=client_credentials&pad=${'x'.repeat(100_000)}`);
        expect(token.status).toBe(413);
        expect(token.body).toEqual({ error: 'invalid_request', error_description: 'Request body is too large' });
        expect(token.headers['cache-control']).toBe('no-store');
        const admin = await t.http
          .post('/admin/clients')
          .auth(await t.adminToken(), { type: 'bearer' })
          .send({ client_name: 'x'.repeat(100_000) });
        expect(admin.status).toBe(413);
      });

      it('refuses invalid JSON to the admin API with 400', async () => {
        const res = await t.http.post('/admin/clients').auth(await t.adminToken(), { type: 'bearer' }).set('Content-Type', 'application/json').send('{"client_id": "x",');
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ error: 'invalid_request', error_description: 'The request body is not valid JSON' });
      });

      it('refuses prototype-poisoning keys in JSON', async () => {
        const res = await t.http
          .post('/admin/clients')
          .auth(await t.adminToken(), { type: 'bearer' })
          .set('Content-Type', 'application/json')
          .send('{"__proto__": {"disabled": true}, "grant_types": ["client_credentials"]}');
        expect(res.status).toBe(400);
      });

      it('answers unknown routes and path traversal with 404', async () => {
        for (const path of ['/nope', '/admin', '/admin/nothing-here', '/%2e%2e/%2e%2e/etc/passwd', '/oauth2/..%2f..%2fetc%2fpasswd', '/.well-known/../../etc/passwd', '/health']) {
          const res = await t.http.get(path);
          expect({ path, status: res.status }).toEqual({ path, status: 404 });
        }
      });

      it('never answers 5xx to a grab-bag of odd requests', async () => {
        const admin = await t.adminToken();
        const paths = [
          '/',
          '/admin/clients',
          '/admin/clients/%00',
          '/admin/clients/%E2%80%AE',
          '/admin/users/%F0%9F%98%80',
          '/admin/users?search=%00%25_',
          '/admin/users?limit=1e3',
          '/admin/audit-events?limit=-1&type[]=x',
          '/admin/policy',
          '/admin/keys/rotate/../../clients',
          '/oauth2/token',
          '/oauth2/jwks?x=%',
          '/.well-known/openid-configuration/extra',
          '/health/ready?verbose=1',
        ];
        const bodies: [string, string][] = [
          ['application/json', '{"a":{"b":{"c":{"d":[[[[[]]]]]}}}}'],
          ['application/json', '"\\ud800"'],
          ['application/json', '{"grant_types":[null],"redirect_uris":[{}],"scope":["a"],"jwks":[]}'],
          ['application/x-www-form-urlencoded', 'grant_type=%ZZ&&&=&client_id'],
          ['text/plain', '\u0000\u0001'],
          ['multipart/form-data; boundary=x', '--x\r\n\r\n--x--'],
          ['application/xml', '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>'],
        ];
        const failures: string[] = [];
        for (const path of paths) {
          for (const method of ['get', 'post', 'put', 'patch', 'delete', 'options'] as const) {
            for (const [type, body] of method === 'get' || method === 'options' ? [['', '']] : bodies) {
              for (const auth of [undefined, `Bearer ${admin}`, 'Basic Og==', 'Bearer \u00ff']) {
                let req = t.http[method](path);
                if (auth) req = req.set('Authorization', auth);
                if (type) req = req.set('Content-Type', type).send(body);
                const res = await req.catch((error: Error) => ({ status: -1, text: error.message }));
                if (res.status >= 500 || res.status < 0 || /\bat .*\.(ts|js):\d+/.test(res.text)) {
                  failures.push(`${method.toUpperCase()} ${path} [${type}] auth=${auth?.slice(0, 8)} -> ${res.status} ${res.text.slice(0, 120)}`);
                }
              }
            }
          }
        }
        expect(failures).toEqual([]);
        // The grab-bag changed nothing it should not have.
        expect((await t.http.get('/admin/policy').auth(admin, { type: 'bearer' })).body.lockout_threshold).toBe(5);
      });
    });
  });

  describe('database outage', () => {
    it('reads 503 temporarily_unavailable, and readiness fails', async () => {
      const t = await startApp();
      const client = await createClient(t);
      const admin = await t.adminToken();
      await t.db.destroy();
      try {
        const ready = await t.http.get('/health/ready');
        expect(ready.status).toBe(503);
        expect(ready.body.status).toBe('error');
        expect((await t.http.get('/health/live')).status).toBe(200);

        const token = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: client.client_id, secret: client.client_secret! });
        expect(token.status).toBe(503);
        expect(token.body).toEqual({ error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable' });
        expect(token.headers['cache-control']).toBe('no-store');

        const list = await t.http.get('/admin/clients').auth(admin, { type: 'bearer' });
        expect(list.status).toBe(503);
      } finally {
        await t.db.initialize();
        await t.close();
      }
    });
  });

  describe('start-up and restart', () => {
    it('runs the migrations on an empty database, creating every table', async () => {
      const t = await startApp();
      try {
        const migrations = await t.db.query('SELECT name FROM migrations ORDER BY id');
        expect(migrations.map((m: { name: string }) => m.name)).toEqual(MIGRATIONS);
        expect(await tables(t)).toEqual(TABLES);
        if (testStore() === 'mysql') {
          const columns = await t.db.query(
            "SELECT table_name AS t, column_name AS c, collation_name AS collation FROM information_schema.columns WHERE table_schema = DATABASE() AND column_name IN ('client_id', 'username', 'email', 'phone_number') AND table_name IN ('clients', 'users') ORDER BY table_name, column_name",
          );
          expect(columns.map((c: { collation: string }) => c.collation)).toEqual(['utf8mb4_bin', 'utf8mb4_bin', 'utf8mb4_bin', 'utf8mb4_bin']);
        }
        const [policy] = await t.db.query('SELECT lockout_threshold FROM policy WHERE id = 1');
        expect(Number(policy.lockout_threshold)).toBe(5);
      } finally {
        await t.close();
      }
    });

    it('runs and reverts the migrations with the TypeORM CLI through ormconfig.ts', async () => {
      const database = await createTestDatabase();
      const cli = (...args: string[]) =>
        spawnSync(process.execPath, [require.resolve('typeorm/cli-ts-node-commonjs.js'), ...args, '-d', 'ormconfig.ts'], {
          cwd: resolve(__dirname, '../..'),
          env: { PATH: process.env.PATH, DATABASE_URL: database.url, TS_NODE_TRANSPILE_ONLY: 'true' },
          encoding: 'utf8',
          timeout: 60_000,
        });
      try {
        const run = cli('migration:run');
        expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
        const shown = cli('migration:show');
        expect(shown.status).toBe(0);
        for (const name of MIGRATIONS) expect(shown.stdout).toMatch(new RegExp(`\\[X\\] \\d+ ${name}`));
        expect(shown.stdout).not.toContain('[ ]');

        // The service starts on the migrated database without running anything again.
        const t = await startApp({ database });
        expect((await t.db.query('SELECT name FROM migrations ORDER BY id')).map((m: { name: string }) => m.name)).toEqual(MIGRATIONS);
        await t.close({ keepDatabase: true });

        for (let i = 0; i < MIGRATIONS.length; i++) expect(cli('migration:revert').status).toBe(0);
        const empty = await startApp({ database });
        // Reverting dropped every table, so this start ran the migrations again from scratch.
        expect(await tables(empty)).toEqual(TABLES);
        await empty.close({ keepDatabase: true });
      } finally {
        await database.drop();
      }
    }, 120_000);

    it('keeps the same signing keys across a restart, and tokens issued before it stay valid', async () => {
      const first = await startApp();
      const keysBefore = await jwksOf(first);
      const client = await createClient(first, { scope: 'api', default_scope: 'api' });
      const token = (await tokenRequest(first, { grant_type: 'client_credentials' }, { id: client.client_id, secret: client.client_secret! })).body.access_token;
      const admin = await first.adminToken();
      await first.close({ keepDatabase: true });

      const second = await startApp({ database: first.database });
      try {
        expect(await jwksOf(second)).toEqual(keysBefore);
        await jwtVerify(token, createLocalJWKSet(await jwksOf(second)), { issuer: ISSUER, audience: client.client_id });
        const listed = await second.http.get('/admin/clients').auth(admin, { type: 'bearer' });
        expect(listed.status).toBe(200);
        expect(listed.body.map((c: { client_id: string }) => c.client_id)).toContain(client.client_id);
        expect(await second.db.query("SELECT kid FROM `keys` WHERE purpose = 'signing'")).toHaveLength(3);
      } finally {
        await second.close();
      }
    });

    it('encrypts the stored private keys with KEY_ENCRYPTION_SECRET and restarts with the same secret', async () => {
      const first = await startApp({ env: { KEY_ENCRYPTION_SECRET: KEK } });
      const keysBefore = await jwksOf(first);
      const rows = await first.db.query("SELECT kid, private_key, private_key_encrypted FROM `keys` WHERE purpose = 'signing'");
      expect(rows).toHaveLength(3);
      for (const row of rows) {
        expect(Number(row.private_key_encrypted)).toBe(1);
        expect(row.private_key).not.toContain('PRIVATE KEY');
        expect(row.private_key).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      }
      // Client secrets are then HMAC-SHA-256 digests keyed by the same secret (SPEC §3.2).
      const digest = (await adminClientRow(first)).secret_digest;
      expect(digest).toBe(createHmac('sha256', KEK).update(ADMIN_CLIENT_SECRET).digest('hex'));
      expect(digest).not.toBe(sha256Hex(ADMIN_CLIENT_SECRET));
      await first.close({ keepDatabase: true });

      const missing = await failedStart(first.database, {});
      expect(missing.message).toMatch(/is encrypted but KEY_ENCRYPTION_SECRET is not set/);
      const wrong = await failedStart(first.database, { KEY_ENCRYPTION_SECRET: `${KEK}-but-another` });
      expect(wrong.message).toMatch(/cannot be decrypted: KEY_ENCRYPTION_SECRET is not the secret it was encrypted with/);

      const second = await startApp({ database: first.database, env: { KEY_ENCRYPTION_SECRET: KEK } });
      try {
        expect(await jwksOf(second)).toEqual(keysBefore);
        const token = await tokenRequest(second, { grant_type: 'client_credentials' }, { id: ADMIN_CLIENT_ID, secret: ADMIN_CLIENT_SECRET });
        expect(token.status).toBe(200);
        await jwtVerify(token.body.access_token, createLocalJWKSet(keysBefore), { issuer: ISSUER });
      } finally {
        await second.close();
      }
    });

    it('creates the bootstrap admin client from the environment once, and never changes it on restart', async () => {
      const first = await startApp();
      const created = await adminClientRow(first);
      expect(created).toMatchObject({ client_id: ADMIN_CLIENT_ID, scope: 'admin', default_scope: 'admin', token_endpoint_auth_method: 'client_secret_basic' });
      expect(JSON.parse(created.grant_types as string)).toEqual(['client_credentials']);
      expect(created.secret_digest).toBe(sha256Hex(ADMIN_CLIENT_SECRET));
      const token = await tokenRequest(first, { grant_type: 'client_credentials' }, { id: ADMIN_CLIENT_ID, secret: ADMIN_CLIENT_SECRET });
      expect(token.body.scope).toBe('admin');
      await first.close({ keepDatabase: true });

      const otherSecret = 'a-different-bootstrap-secret-0123456789';
      const second = await startApp({ database: first.database, env: { BOOTSTRAP_ADMIN_CLIENT_SECRET: otherSecret } });
      try {
        expect(await adminClientRow(second)).toEqual(created);
        expect((await tokenRequest(second, { grant_type: 'client_credentials' }, { id: ADMIN_CLIENT_ID, secret: ADMIN_CLIENT_SECRET })).status).toBe(200);
        expect((await tokenRequest(second, { grant_type: 'client_credentials' }, { id: ADMIN_CLIENT_ID, secret: otherSecret })).status).toBe(401);
        expect(await second.db.query('SELECT client_id FROM clients')).toHaveLength(1);
      } finally {
        await second.close();
      }
    });

    it('says how to recover when the only admin client was disabled and its id is taken', async () => {
      const first = await startApp();
      const admin = await first.adminToken();
      expect((await first.http.patch(`/admin/clients/${ADMIN_CLIENT_ID}`).auth(admin, { type: 'bearer' }).send({ disabled: true })).status).toBe(200);
      await first.close({ keepDatabase: true });

      const error = jest.spyOn(Logger.prototype, 'error');
      try {
        const second = await startApp({ database: first.database });
        const logged = error.mock.calls.map(([message]) => String(message));
        expect(logged).toContain(
          `No enabled admin client exists, and the bootstrap client_id "${ADMIN_CLIENT_ID}" is taken by another client: start once with another BOOTSTRAP_ADMIN_CLIENT_ID, or run \`npm run admin -- reset-admin-secret --client-id <new id>\`, to create a new admin client`,
        );
        expect(Number((await adminClientRow(second)).disabled)).toBe(1);
        await second.close({ keepDatabase: true });
      } finally {
        error.mockRestore();
      }

      const third = await startApp({ database: first.database, env: { BOOTSTRAP_ADMIN_CLIENT_ID: 'rescue-admin' } });
      try {
        const token = await tokenRequest(third, { grant_type: 'client_credentials' }, { id: 'rescue-admin', secret: ADMIN_CLIENT_SECRET });
        expect(token.status).toBe(200);
        expect((await third.http.get('/admin/clients').auth(token.body.access_token, { type: 'bearer' })).status).toBe(200);
      } finally {
        await third.close();
      }
    });

    it('generates the bootstrap admin client when the environment names none, handing its secret out once and logging it nowhere', async () => {
      // The box on stderr after "Listening" is main.ts's part: test/e2e/startup.e2e-spec.ts runs the real process.
      const noBootstrap = { BOOTSTRAP_ADMIN_CLIENT_ID: '', BOOTSTRAP_ADMIN_CLIENT_SECRET: '' };
      const logs = captureLogs();
      const first = await startApp({ env: { ...noBootstrap, LOG_LEVEL: 'trace' }, logStream: logs.stream });
      const bootstrap = first.app.get(BootstrapService);
      const generated = bootstrap.takeGeneratedAdminSecret()!;
      expect(generated).toEqual({ clientId: 'gatehouse-admin', secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
      expect(bootstrap.takeGeneratedAdminSecret()).toBeUndefined();
      const row = await adminClientRow(first, 'gatehouse-admin');
      expect(row.secret_digest).toBe(sha256Hex(generated.secret));
      const token = await tokenRequest(first, { grant_type: 'client_credentials' }, { id: 'gatehouse-admin', secret: generated.secret });
      expect(token.status).toBe(200);
      expect(token.body.scope).toBe('admin');
      expect(logs.entries()).toContainEqual(expect.objectContaining({ level: 'info', msg: 'Created the bootstrap admin client "gatehouse-admin"' }));
      expect(logs.text()).not.toContain(generated.secret);
      await first.close({ keepDatabase: true });

      const second = await startApp({ database: first.database, env: noBootstrap });
      try {
        expect(second.app.get(BootstrapService).takeGeneratedAdminSecret()).toBeUndefined();
        expect(await adminClientRow(second, 'gatehouse-admin')).toEqual(row);
        expect(await second.db.query('SELECT client_id FROM clients')).toHaveLength(1);
      } finally {
        await second.close();
      }
    });
  });
});

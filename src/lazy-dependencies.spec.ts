import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { createApp } from './app.factory';
import { loadConfig } from './config/app-config';

// Hoisted above the imports. Loading either of these throws: the service below must start and answer on SQLite without them.
jest.mock('mysql2', () => {
  throw new Error('mysql2 was loaded by a process on SQLite');
});
jest.mock('node-forge', () => {
  throw new Error('node-forge was loaded before a PKCS#1 v1.5 decryption');
});

/**
 * Issue 8 (memory): a process on SQLite does not load mysql2 (~2.5 MiB of heap), and no process loads
 * node-forge (~2 MiB) until a client sends a password with PKCS#1 v1.5 padding. Both are required
 * where they are used (src/database/cluster-driver.ts, src/keys/password-keys.service.ts); a
 * top-level import anywhere on the way from main.ts would load them again, and fail this test.
 * That they still work when needed is proven by the MariaDB e2e project and by
 * test/e2e/password-encryption.e2e-spec.ts.
 */
describe('modules a process loads only when it needs them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-lazy-'));
  let app: NestFastifyApplication | undefined;

  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a service on SQLite starts, issues a token and encrypts passwords without mysql2 or node-forge', async () => {
    const config = loadConfig({
      ISSUER: 'http://gatehouse.test',
      DATABASE_URL: `sqlite:${join(dir, 'gatehouse.sqlite')}`,
      BOOTSTRAP_ADMIN_CLIENT_ID: 'lazy-admin',
      BOOTSTRAP_ADMIN_CLIENT_SECRET: 'lazy-admin-secret-0123456789abcdefghij',
      LOG_LEVEL: 'fatal',
    });
    const started = await createApp(config);
    app = started;
    await started.init();
    await started.getHttpAdapter().getInstance().ready();
    const http = request(started.getHttpServer());

    const token = await http.post('/oauth2/token').auth('lazy-admin', 'lazy-admin-secret-0123456789abcdefghij').type('form').send({ grant_type: 'client_credentials' });
    expect(token.status).toBe(200);
    expect(token.body.access_token).toEqual(expect.any(String));

    // The password-transport keys (RSA, whose PKCS#1 v1.5 path is node-forge's) are loaded and served.
    const keys = await http.get('/oauth2/password-encryption-keys');
    expect(keys.status).toBe(200);
  });
});

import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';
import type { DestinationStream } from 'pino';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { DataSource } from 'typeorm';
import { createApp } from '../../src/app.factory';
import { Clock } from '../../src/common/clock';
import { loadConfig } from '../../src/config/app-config';
import { createTestDatabase, TestDatabase } from './database';

export const ADMIN_CLIENT_ID = 'test-admin';
export const ADMIN_CLIENT_SECRET = 'test-admin-secret-0123456789abcdefghij';
export const ISSUER = 'http://gatehouse.test';

export interface TestApp {
  app: NestFastifyApplication;
  http: TestAgent;
  /** The real app's clock: move it instead of sleeping. */
  clock: Clock;
  db: DataSource;
  databaseUrl: string;
  /** A fresh admin bearer token (client_credentials of the bootstrap admin client). */
  adminToken(): Promise<string>;
  /** Stops the app; `keepDatabase` leaves the database for a restart test. */
  close(options?: { keepDatabase?: boolean }): Promise<void>;
}

export interface StartOptions {
  /** Reuse a database (restart tests); by default each app gets a new empty one. */
  database?: TestDatabase;
  env?: Record<string, string>;
  /** Where the app's JSON log lines go (see captureLogs); stdout by default, at LOG_LEVEL=error unless env says otherwise. */
  logStream?: DestinationStream;
  /** Listen on this port instead of an ephemeral one (a browser test whose ISSUER must be the real address). */
  port?: number;
}

/** Boots the real Gatehouse application on a real database, listening on an ephemeral port. */
export async function startApp(options: StartOptions = {}): Promise<TestApp & { database: TestDatabase }> {
  const database = options.database ?? (await createTestDatabase());
  const config = loadConfig({
    ISSUER,
    DATABASE_URL: database.url,
    BOOTSTRAP_ADMIN_CLIENT_ID: ADMIN_CLIENT_ID,
    BOOTSTRAP_ADMIN_CLIENT_SECRET: ADMIN_CLIENT_SECRET,
    PURGE_INTERVAL_SECONDS: '0',
    // No background polling of the back-channel logout queue (its queries would land in the suites
    // that count statements); an instance still sends what it queues itself. Suites that test
    // retries turn it on.
    LOGOUT_DELIVERY_INTERVAL_SECONDS: '0',
    // Suites log in and fail logins from 127.0.0.1 far faster than any user: per-IP throttling is
    // off unless a test turns it on, per end-user address and per client alike.
    LOGIN_RATE_LIMIT: '0',
    LOGIN_RATE_LIMIT_PER_CLIENT: '0',
    // Likewise they fail client authentications on purpose, over and over: the per-(client, IP)
    // limit is off unless a test turns it on.
    CLIENT_AUTH_FAILURE_LIMIT: '0',
    LOG_LEVEL: 'error',
    ...options.env,
  });
  // nestjs-pino keeps one logger per process for logs made outside a request, built by the first
  // app: each test app gets its own, so that its level and stream apply to its start-up lines too.
  // Until this app installs it, Nest's static logger (the previous app's) stays quiet.
  Logger.overrideLogger(false);
  __resetOutOfContextForTests();
  const app = await createApp(config, { logStream: options.logStream });
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const http = request(app.getHttpServer());
  const clock = app.get(Clock);
  // Re-fetched once the app's clock (which tests move) reaches its expiry.
  let cachedAdminToken: { token: string; expiresAtMs: number } | undefined;
  const testApp = {
    app,
    http,
    clock,
    db: app.get(DataSource),
    databaseUrl: database.url,
    database,
    async adminToken() {
      if (cachedAdminToken && cachedAdminToken.expiresAtMs > clock.nowMs() + 60_000) return cachedAdminToken.token;
      const res = await http
        .post('/oauth2/token')
        .auth(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET)
        .type('form')
        .send({ grant_type: 'client_credentials' });
      if (res.status !== 200) throw new Error(`admin token: ${res.status} ${JSON.stringify(res.body)}`);
      cachedAdminToken = { token: res.body.access_token as string, expiresAtMs: clock.nowMs() + (res.body.expires_in as number) * 1000 };
      return cachedAdminToken.token;
    },
    async close(closeOptions: { keepDatabase?: boolean } = {}) {
      await app.close();
      if (!closeOptions.keepDatabase) await database.drop();
    },
  };
  return testApp;
}

/**
 * Two instances on one database, as behind a load balancer: B's clock is set to A's, so that
 * moving A's clock and then B's by the same amount keeps them together. Close with closeInstances.
 */
export async function startInstances(env: Record<string, string> = {}): Promise<{ a: TestApp & { database: TestDatabase }; b: TestApp }> {
  const a = await startApp({ env });
  const b = await startApp({ database: a.database, env });
  b.clock.advance(a.clock.nowMs() - b.clock.nowMs());
  return { a, b };
}

/** Closes what startInstances started (either may be missing if it failed), and the database. */
export async function closeInstances(a: TestApp | undefined, b: TestApp | undefined): Promise<void> {
  await b?.close({ keepDatabase: true });
  await a?.close();
}

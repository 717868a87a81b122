import { resolve } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { AuditEvent } from '../audit/audit-event.entity';
import { ClientAuthFailureCount } from '../client-auth/client-auth-failure-count.entity';
import { Client } from '../clients/client.entity';
import { StoredKey } from '../keys/signing-key.entity';
import { LoginThrottle } from '../policy/login-throttle.entity';
import { Policy } from '../policy/policy.entity';
import { AccessToken } from '../tokens/access-token.entity';
import { AuthorizationCode } from '../tokens/authorization-code.entity';
import { RefreshToken } from '../tokens/refresh-token.entity';
import { TokenFamily } from '../sessions/token-family.entity';
import { BrowserSession, BrowserSessionClient } from '../sessions/browser-session.entity';
import { LogoutNotification } from '../sessions/logout-notification.entity';
import { UsedJti } from '../tokens/used-jti.entity';
import { User } from '../users/user.entity';
import { InitialSchema1763850000000 } from './migrations/1763850000000-initial-schema';
import { ExactIdentifierCollation1763900000000 } from './migrations/1763900000000-exact-identifier-collation';
import { ClientSecretJwt1764000000009 } from './migrations/1764000000009-client-secret-jwt';
import { Utf8mb4Everywhere1764000000000 } from './migrations/1764000000000-utf8mb4-everywhere';
import { LoginThrottle1764100000000 } from './migrations/1764100000000-login-throttle';
import { BrowserSessions1765700000000 } from './migrations/1765700000000-browser-sessions';
import { AllowedCorsOrigins1765800000000 } from './migrations/1765800000000-allowed-cors-origins';
import { TrustEndUserIpHeader1765600000000 } from './migrations/1765600000000-trust-end-user-ip-header';
import { AuthorizationCodesUserIndex1765600000001 } from './migrations/1765600000001-authorization-codes-user-index';
import { LoginNamesNfc1765600000002 } from './migrations/1765600000002-login-names-nfc';
import { ClientAuthFailures1765900000000 } from './migrations/1765900000000-client-auth-failures';
import { clusterAwareMysql2, type DriverOptions } from './cluster-driver';
import { clusterSessionOptions } from './cluster-options';

export const ENTITIES = [
  Client,
  User,
  Policy,
  StoredKey,
  TokenFamily,
  RefreshToken,
  AccessToken,
  AuthorizationCode,
  UsedJti,
  AuditEvent,
  LoginThrottle,
  ClientAuthFailureCount,
  BrowserSession,
  BrowserSessionClient,
  LogoutNotification,
];

export const MIGRATIONS = [
  InitialSchema1763850000000,
  ExactIdentifierCollation1763900000000,
  Utf8mb4Everywhere1764000000000,
  ClientSecretJwt1764000000009,
  LoginThrottle1764100000000,
  TrustEndUserIpHeader1765600000000,
  AuthorizationCodesUserIndex1765600000001,
  LoginNamesNfc1765600000002,
  BrowserSessions1765700000000,
  AllowedCorsOrigins1765800000000,
  ClientAuthFailures1765900000000,
];

/**
 * TypeORM options for a DATABASE_URL: `sqlite:<path>` (better-sqlite3, the default) or
 * `mysql://user:pass@host:port/db[?wsrep_sync_wait=N]` (mysql2; MySQL 8 and MariaDB 10.11, also as
 * nodes of a multi-primary cluster: see cluster-driver.ts). Migrations run at start-up;
 * synchronize is never on. `driver`: the MySQL statement timeout (cluster-driver.ts), read at each
 * statement, so that openDatabase can set it once the migrations have run; SQLite ignores it.
 */
export function dataSourceOptions(databaseUrl: string, options: { poolSize?: number; driver?: DriverOptions } = {}): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    logging: false,
  };
  if (databaseUrl.startsWith('sqlite:')) {
    const path = databaseUrl.slice('sqlite:'.length);
    // Relative to the working directory; openDatabase creates the directory.
    const database = path === ':memory:' ? path : resolve(path);
    return {
      ...common,
      type: 'better-sqlite3',
      database,
      // WAL lets several worker processes read while one writes; busy_timeout makes writers queue.
      // synchronous=NORMAL (WAL's recommended setting) syncs at checkpoints, not at every commit: a
      // crash of the process loses nothing, a power loss or OS crash may lose the last commits
      // (never corrupts the file). See docs/operations.md.
      prepareDatabase: (db: { pragma(sql: string): unknown }) => {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.pragma('busy_timeout = 5000');
        db.pragma('foreign_keys = ON');
      },
    };
  }
  const url = new URL(databaseUrl.replace(/^mariadb:/, 'mysql:'));
  return {
    ...common,
    type: 'mysql',
    driver: clusterAwareMysql2(clusterSessionOptions(url), options.driver),
    host: url.hostname,
    port: url.port ? Number(url.port) : 3306,
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)),
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    poolSize: options.poolSize ?? 10,
    connectTimeout: 5000,
    // SqlRunner's atomic units run as one multi-statement text (one round trip; see sql-runner.ts).
    // Every text Gatehouse sends is a constant or is built by the driver's escaping from bound values.
    multipleStatements: true,
    extra: { enableKeepAlive: true },
  };
}

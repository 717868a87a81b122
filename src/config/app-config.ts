import { isIP } from 'node:net';
import { clusterSessionOptions } from '../database/cluster-options';

/** pino's levels, most severe first (SPEC §7). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** Nest's own names, accepted so that a LOG_LEVEL written for a Nest application keeps working. */
const LOG_LEVEL_ALIASES: Record<string, LogLevel> = { log: 'info', verbose: 'trace' };

/** Typed configuration. The only place in Gatehouse that reads process.env is {@link loadConfig}. */
export class AppConfig {
  port!: number;
  issuer!: string;
  databaseUrl!: string;
  keyEncryptionSecret?: string;
  bootstrapAdminClientId?: string;
  bootstrapAdminClientSecret?: string;
  clusterWorkers!: number;
  logLevel!: LogLevel;
  trustedProxies!: string[];
  trustedClientCertHeader?: string;
  /** Header in which the trusted proxy reports its chain verification ("SUCCESS"), required for tls_client_auth when set. */
  trustedClientCertVerifyHeader?: string;
  /** Refuse jwks_uri hosts that resolve to loopback, private, link-local or other non-public addresses. */
  jwksUriBlockPrivate!: boolean;
  /** Seconds between purges of expired codes, tokens and replay-cache rows; 0 disables the timer. */
  purgeIntervalSeconds!: number;
  /** Also accept RSA PKCS#1 v1.5 password ciphertexts (JSEncrypt clients); weaker than OAEP. */
  passwordRsaPkcs1!: boolean;
  /**
   * Failed password logins allowed per end-user address (IPv6 per /64) and minute, across instances,
   * at the login page and for public clients; also per (client, forwarded end-user address) for a
   * client trusted to send Gatehouse-End-User-IP. 0 turns it off.
   */
  loginRateLimit!: number;
  /** Failed password logins allowed per confidential client and minute at the token endpoint; 0 turns it off. */
  loginRateLimitPerClient!: number;
  /**
   * How long an instance may serve clients, the policy and signing keys from memory: a change made
   * through another instance is seen within this many seconds (through this one, at once). 0 = read every time.
   */
  cacheTtlSeconds!: number;
  /** Record a `token.issued` audit event per token response (written in batches); false turns them off. */
  auditTokenEvents!: boolean;
  /**
   * Failed client authentications allowed per (client_id, client IP) and minute, across instances,
   * before that pair gets 429 for the rest of the minute; 0 turns it off.
   */
  clientAuthFailureLimit!: number;
  /** Database connections per process (MySQL/MariaDB pool), and requests doing database work at once (both stores). */
  databasePoolSize!: number;
  /**
   * MySQL/MariaDB: how long a statement waits for the server's answer before it fails (503) and its
   * connection is closed, so that a frozen server never holds a request for ever; 0 turns it off.
   * SQLite ignores it (in-process; busy_timeout bounds its lock waits).
   */
  databaseStatementTimeoutMs!: number;
  /** Requests that may wait for a turn at the database; beyond it, 503 at once. */
  requestQueueLimit!: number;
  /** How long a request waits for its turn at the database before it gets 503 temporarily_unavailable. */
  requestQueueTimeoutMs!: number;
  /** How long SIGTERM waits for requests in flight (and shutdown work) before the process exits anyway. */
  shutdownTimeoutMs!: number;
  /** Seconds between looks at the back-channel logout queue for rows due again or queued by other instances; 0: only when this instance queues. */
  logoutDeliveryIntervalSeconds!: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
  }
}

type Env = Record<string, string | undefined>;

/** A value quoted for the one-line message: JSON escapes newlines and control characters. */
const quote = (value: string) => JSON.stringify(value);

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got ${quote(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new ConfigError(name, `must be true or false, got ${quote(raw)}`);
}

/** An http(s) URL without query or fragment, as an OAuth issuer must be (RFC 8414 §2, OIDC Discovery §3). */
function issuerUrl(name: string, raw: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an http(s) URL, got ${quote(raw)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(name, `must be an http(s) URL, got ${quote(raw)}`);
  if (parsed.search || parsed.hash || raw.includes('?') || raw.includes('#')) {
    throw new ConfigError(name, `must not have a query or fragment, got ${quote(raw)}`);
  }
  if (parsed.username || parsed.password) throw new ConfigError(name, 'must not contain credentials');
  return parsed;
}

const SQLITE_SYNTAX = 'write sqlite:./data/gatehouse.sqlite for a path relative to the working directory, or sqlite:/var/lib/gatehouse/gatehouse.sqlite for an absolute one';

/**
 * `sqlite:<path>` keeps the path as written. `sqlite://./x` and `sqlite://../x` are read as the
 * relative path they show; any other `sqlite://` form is refused, because `sqlite:///x` means an
 * absolute path to URL readers and a relative one to SQLAlchemy users (and `sqlite://./data/x`
 * once ended up as /data/x at the filesystem root).
 */
function sqliteUrl(raw: string): string {
  let path = raw.slice('sqlite:'.length);
  if (path.startsWith('//')) {
    const rest = path.slice(2);
    // Not echoed: whatever stands where a host would be might be credentials.
    if (!/^\.\.?\//.test(rest)) throw new ConfigError('DATABASE_URL', `in the sqlite:// form is ambiguous: ${SQLITE_SYNTAX}`);
    path = rest;
  }
  if (path === '') throw new ConfigError('DATABASE_URL', `needs a file path after "sqlite:": ${SQLITE_SYNTAX}`);
  return `sqlite:${path}`;
}

function databaseUrl(raw: string): string {
  if (raw.startsWith('sqlite:')) return sqliteUrl(raw);
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL', 'must be sqlite:<path> or mysql://user:pass@host:port/db');
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new ConfigError('DATABASE_URL', `has unsupported scheme "${parsed.protocol}" (use sqlite: or mysql:)`);
  }
  if (parsed.pathname.length <= 1) throw new ConfigError('DATABASE_URL', 'must name a database, e.g. mysql://root@127.0.0.1:3306/gatehouse');
  try {
    clusterSessionOptions(parsed);
  } catch (error) {
    throw new ConfigError('DATABASE_URL', (error as Error).message.replace(/^DATABASE_URL /, ''));
  }
  return raw;
}

function booleanFlag(env: Env, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new ConfigError(name, `must be true or false, got ${quote(raw)}`);
}

function logLevel(raw: string | undefined): LogLevel {
  const name = (raw || 'info').toLowerCase();
  const level = LOG_LEVEL_ALIASES[name] ?? name;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')} (or Nest's log, verbose), got ${quote(raw!)}`);
  }
  return level as LogLevel;
}

export function loadConfig(env: Env = process.env): AppConfig {
  const config = new AppConfig();
  config.port = integer(env, 'PORT', 3000, 1, 65535);
  config.issuer = issuerUrl('ISSUER', env.ISSUER || `http://localhost:${config.port}`).href.replace(/\/+$/, '');
  config.databaseUrl = databaseUrl(env.DATABASE_URL || 'sqlite:./data/gatehouse.sqlite');

  const kek = env.KEY_ENCRYPTION_SECRET;
  if (kek !== undefined && kek !== '') {
    if (kek.length < 32) throw new ConfigError('KEY_ENCRYPTION_SECRET', 'must be at least 32 characters');
    config.keyEncryptionSecret = kek;
  }

  const adminId = env.BOOTSTRAP_ADMIN_CLIENT_ID;
  const adminSecret = env.BOOTSTRAP_ADMIN_CLIENT_SECRET;
  if (adminId) {
    if (!/^[\x21-\x7e]{1,128}$/.test(adminId)) {
      throw new ConfigError('BOOTSTRAP_ADMIN_CLIENT_ID', 'must be 1-128 printable ASCII characters without spaces');
    }
    config.bootstrapAdminClientId = adminId;
  }
  if (adminSecret) {
    if (adminSecret.length < 32) throw new ConfigError('BOOTSTRAP_ADMIN_CLIENT_SECRET', 'must be at least 32 characters');
    if (!adminId) throw new ConfigError('BOOTSTRAP_ADMIN_CLIENT_SECRET', 'is set but BOOTSTRAP_ADMIN_CLIENT_ID is not');
    config.bootstrapAdminClientSecret = adminSecret;
  }

  config.clusterWorkers = integer(env, 'CLUSTER_WORKERS', 1, 1, 64);
  config.logLevel = logLevel(env.LOG_LEVEL);

  config.trustedProxies = (env.TRUSTED_PROXIES || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const proxy of config.trustedProxies) {
    const [address, prefix, ...rest] = proxy.split('/');
    const maxPrefix = isIP(address) === 6 ? 128 : 32;
    if (!isIP(address) || rest.length > 0 || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix))) {
      throw new ConfigError('TRUSTED_PROXIES', `has an invalid address ${quote(proxy)} (comma-separated IPs or CIDRs)`);
    }
  }
  if (env.TRUSTED_CLIENT_CERT_HEADER) {
    if (!/^[A-Za-z0-9-]+$/.test(env.TRUSTED_CLIENT_CERT_HEADER)) {
      throw new ConfigError('TRUSTED_CLIENT_CERT_HEADER', 'must be an HTTP header name');
    }
    config.trustedClientCertHeader = env.TRUSTED_CLIENT_CERT_HEADER.toLowerCase();
  }
  if (env.TRUSTED_CLIENT_CERT_VERIFY_HEADER) {
    if (!/^[A-Za-z0-9-]+$/.test(env.TRUSTED_CLIENT_CERT_VERIFY_HEADER)) {
      throw new ConfigError('TRUSTED_CLIENT_CERT_VERIFY_HEADER', 'must be an HTTP header name');
    }
    config.trustedClientCertVerifyHeader = env.TRUSTED_CLIENT_CERT_VERIFY_HEADER.toLowerCase();
  }
  config.jwksUriBlockPrivate = boolean(env, 'JWKS_URI_BLOCK_PRIVATE', false);
  config.purgeIntervalSeconds = integer(env, 'PURGE_INTERVAL_SECONDS', 600, 0, 86400);
  config.passwordRsaPkcs1 = booleanFlag(env, 'PASSWORD_RSA_PKCS1');
  config.loginRateLimit = integer(env, 'LOGIN_RATE_LIMIT', 30, 0, 1_000_000);
  config.loginRateLimitPerClient = integer(env, 'LOGIN_RATE_LIMIT_PER_CLIENT', 600, 0, 1_000_000);
  config.cacheTtlSeconds = integer(env, 'CACHE_TTL_SECONDS', 5, 0, 3600);
  config.auditTokenEvents = boolean(env, 'AUDIT_TOKEN_EVENTS', true);
  config.clientAuthFailureLimit = integer(env, 'CLIENT_AUTH_FAILURE_LIMIT', 20, 0, 1_000_000);
  config.databasePoolSize = integer(env, 'DATABASE_POOL_SIZE', 32, 1, 1000);
  config.databaseStatementTimeoutMs = integer(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 10_000, 0, 3_600_000);
  config.requestQueueLimit = integer(env, 'REQUEST_QUEUE_LIMIT', 1000, 0, 1_000_000);
  config.requestQueueTimeoutMs = integer(env, 'REQUEST_QUEUE_TIMEOUT_MS', 5000, 1, 600_000);
  config.shutdownTimeoutMs = integer(env, 'SHUTDOWN_TIMEOUT_MS', 25_000, 1, 600_000);
  config.logoutDeliveryIntervalSeconds = integer(env, 'LOGOUT_DELIVERY_INTERVAL_SECONDS', 10, 0, 3600);
  return config;
}

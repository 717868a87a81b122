import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from './app-config';

/** Loads a configuration expected to be invalid and returns the error. */
function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe(loadConfig.name, () => {
  it('has the documented defaults', () => {
    expect({ ...loadConfig({}) }).toEqual({
      port: 3000,
      issuer: 'http://localhost:3000',
      databaseUrl: 'sqlite:./data/gatehouse.sqlite',
      clusterWorkers: 1,
      logLevel: 'info',
      trustedProxies: [],
      jwksUriBlockPrivate: false,
      purgeIntervalSeconds: 600,
      passwordRsaPkcs1: false,
      loginRateLimit: 30,
      loginRateLimitPerClient: 600,
      cacheTtlSeconds: 5,
      auditTokenEvents: true,
      clientAuthFailureLimit: 20,
      databasePoolSize: 32,
      databaseStatementTimeoutMs: 10000,
      requestQueueLimit: 1000,
      requestQueueTimeoutMs: 5000,
      shutdownTimeoutMs: 25000,
      logoutDeliveryIntervalSeconds: 10,
    });
  });

  it('treats empty variables as unset', () => {
    const config = loadConfig({ PORT: '', ISSUER: '', DATABASE_URL: '', KEY_ENCRYPTION_SECRET: '', BOOTSTRAP_ADMIN_CLIENT_ID: '', LOG_LEVEL: '' });
    expect(config.port).toBe(3000);
    expect(config.keyEncryptionSecret).toBeUndefined();
    expect(config.bootstrapAdminClientId).toBeUndefined();
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8443',
      ISSUER: 'https://id.example.com/tenant/',
      DATABASE_URL: 'mysql://gh:p%40ss@db.internal:3307/gatehouse',
      KEY_ENCRYPTION_SECRET: 'k'.repeat(32),
      BOOTSTRAP_ADMIN_CLIENT_ID: 'ops-admin',
      BOOTSTRAP_ADMIN_CLIENT_SECRET: 's'.repeat(32),
      CLUSTER_WORKERS: '4',
      LOG_LEVEL: 'WARN',
      TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1 ,::1,fd00::/64',
      TRUSTED_CLIENT_CERT_HEADER: 'X-SSL-Client-Cert',
      TRUSTED_CLIENT_CERT_VERIFY_HEADER: 'X-SSL-Client-Verify',
      JWKS_URI_BLOCK_PRIVATE: 'true',
      PURGE_INTERVAL_SECONDS: '0',
      PASSWORD_RSA_PKCS1: 'true',
      LOGIN_RATE_LIMIT: '0',
      LOGIN_RATE_LIMIT_PER_CLIENT: '1000',
      CACHE_TTL_SECONDS: '1',
      AUDIT_TOKEN_EVENTS: 'false',
      CLIENT_AUTH_FAILURE_LIMIT: '5',
      DATABASE_POOL_SIZE: '25',
      DATABASE_STATEMENT_TIMEOUT_MS: '0',
      REQUEST_QUEUE_LIMIT: '0',
      REQUEST_QUEUE_TIMEOUT_MS: '250',
      SHUTDOWN_TIMEOUT_MS: '60000',
      LOGOUT_DELIVERY_INTERVAL_SECONDS: '2',
    });
    expect({ ...config }).toEqual({
      port: 8443,
      issuer: 'https://id.example.com/tenant',
      databaseUrl: 'mysql://gh:p%40ss@db.internal:3307/gatehouse',
      keyEncryptionSecret: 'k'.repeat(32),
      bootstrapAdminClientId: 'ops-admin',
      bootstrapAdminClientSecret: 's'.repeat(32),
      clusterWorkers: 4,
      logLevel: 'warn',
      trustedProxies: ['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/64'],
      trustedClientCertHeader: 'x-ssl-client-cert',
      trustedClientCertVerifyHeader: 'x-ssl-client-verify',
      jwksUriBlockPrivate: true,
      purgeIntervalSeconds: 0,
      passwordRsaPkcs1: true,
      loginRateLimit: 0,
      loginRateLimitPerClient: 1000,
      cacheTtlSeconds: 1,
      auditTokenEvents: false,
      clientAuthFailureLimit: 5,
      databasePoolSize: 25,
      databaseStatementTimeoutMs: 0,
      requestQueueLimit: 0,
      requestQueueTimeoutMs: 250,
      shutdownTimeoutMs: 60000,
      logoutDeliveryIntervalSeconds: 2,
    });
  });

  it('derives the default issuer from PORT', () => {
    expect(loadConfig({ PORT: '8080' }).issuer).toBe('http://localhost:8080');
  });

  it('accepts the SQLite and MariaDB forms of DATABASE_URL', () => {
    expect(loadConfig({ DATABASE_URL: 'sqlite:/var/lib/gatehouse/db.sqlite' }).databaseUrl).toBe('sqlite:/var/lib/gatehouse/db.sqlite');
    expect(loadConfig({ DATABASE_URL: 'mariadb://root@127.0.0.1/gh' }).databaseUrl).toBe('mariadb://root@127.0.0.1/gh');
  });

  it('reads the sqlite:// forms that show a relative path as that relative path', () => {
    expect(loadConfig({ DATABASE_URL: 'sqlite:./data/x.sqlite' }).databaseUrl).toBe('sqlite:./data/x.sqlite');
    expect(loadConfig({ DATABASE_URL: 'sqlite:data/x.sqlite' }).databaseUrl).toBe('sqlite:data/x.sqlite');
    expect(loadConfig({ DATABASE_URL: 'sqlite://./data/x.sqlite' }).databaseUrl).toBe('sqlite:./data/x.sqlite');
    expect(loadConfig({ DATABASE_URL: 'sqlite://../shared/x.sqlite' }).databaseUrl).toBe('sqlite:../shared/x.sqlite');
    expect(loadConfig({ DATABASE_URL: 'sqlite::memory:' }).databaseUrl).toBe('sqlite::memory:');
  });

  it('accepts every pino level in LOG_LEVEL, and Nest\'s log and verbose as aliases', () => {
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace']) expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
    expect(loadConfig({ LOG_LEVEL: 'Info' }).logLevel).toBe('info');
    expect(loadConfig({ LOG_LEVEL: 'log' }).logLevel).toBe('info');
    expect(loadConfig({ LOG_LEVEL: 'verbose' }).logLevel).toBe('trace');
  });

  it('accepts the wsrep_sync_wait option of a MariaDB DATABASE_URL (docs/operations.md)', () => {
    for (const value of ['0', '3', '15', 'server']) {
      const url = `mysql://root@127.0.0.1/gh?wsrep_sync_wait=${value}`;
      expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
    }
  });

  describe('refuses a bad value with one line naming the variable', () => {
    it.each([
      ['PORT', 'abc', /PORT must be a whole number, got "abc"/],
      ['PORT', '0', /PORT must be between 1 and 65535, got 0/],
      ['PORT', '65536', /PORT must be between 1 and 65535/],
      ['PORT', '-1', /PORT must be a whole number/],
      ['PORT', '80.5', /PORT must be a whole number/],
      ['PORT', '80\n81', /PORT must be a whole number, got "80\\n81"/],
      ['ISSUER', 'not a url', /ISSUER must be an http\(s\) URL/],
      ['ISSUER', 'ftp://id.example.com', /ISSUER must be an http\(s\) URL/],
      ['ISSUER', 'https://id.example.com/?tenant=a', /ISSUER must not have a query or fragment/],
      ['ISSUER', 'https://id.example.com/#top', /ISSUER must not have a query or fragment/],
      ['ISSUER', 'https://user:pw@id.example.com', /ISSUER must not contain credentials/],
      ['DATABASE_URL', 'sqlite:', /DATABASE_URL needs a file path after "sqlite:": write sqlite:\.\/data\/gatehouse.sqlite for a path relative/],
      ['DATABASE_URL', 'sqlite:///data/x.sqlite', /DATABASE_URL in the sqlite:\/\/ form is ambiguous: write sqlite:\.\/data\/gatehouse.sqlite .*, or sqlite:\/var\/lib\/gatehouse\/gatehouse.sqlite for an absolute one$/],
      ['DATABASE_URL', 'sqlite://db-host/x.sqlite', /DATABASE_URL in the sqlite:\/\/ form is ambiguous/],
      ['DATABASE_URL', 'sqlite://', /DATABASE_URL in the sqlite:\/\/ form is ambiguous/],
      ['DATABASE_URL', 'postgres://db/gatehouse', /DATABASE_URL has unsupported scheme "postgres:"/],
      ['DATABASE_URL', 'mysql://db.internal:3306', /DATABASE_URL must name a database/],
      ['DATABASE_URL', 'gatehouse.sqlite', /DATABASE_URL must be sqlite:<path> or mysql:/],
      ['DATABASE_URL', 'mysql://db/gh?wsrep_sync_wait=16', /DATABASE_URL option wsrep_sync_wait must be 0-15 or "server", got "16"/],
      ['DATABASE_URL', 'mysql://db/gh?wsrep_sync_wait=', /DATABASE_URL option wsrep_sync_wait must be 0-15/],
      ['DATABASE_URL', 'mysql://db/gh?ssl=true', /DATABASE_URL has an unknown option "ssl" \(known: wsrep_sync_wait\)/],
      ['KEY_ENCRYPTION_SECRET', 'too-short', /KEY_ENCRYPTION_SECRET must be at least 32 characters/],
      ['BOOTSTRAP_ADMIN_CLIENT_ID', 'has space', /BOOTSTRAP_ADMIN_CLIENT_ID must be 1-128 printable ASCII/],
      ['BOOTSTRAP_ADMIN_CLIENT_ID', 'x'.repeat(129), /BOOTSTRAP_ADMIN_CLIENT_ID must be 1-128/],
      ['CLUSTER_WORKERS', '0', /CLUSTER_WORKERS must be between 1 and 64/],
      ['CLUSTER_WORKERS', 'many', /CLUSTER_WORKERS must be a whole number/],
      ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace \(or Nest's log, verbose\), got "loud"/],
      ['LOG_LEVEL', 'silent', /LOG_LEVEL must be one of fatal/],
      ['TRUSTED_PROXIES', '10.0.0.1,proxy.internal', /TRUSTED_PROXIES has an invalid address "proxy.internal"/],
      ['TRUSTED_PROXIES', '10.0.0.0/33', /TRUSTED_PROXIES has an invalid address "10.0.0.0\/33"/],
      ['TRUSTED_PROXIES', 'fd00::/129', /TRUSTED_PROXIES has an invalid address/],
      ['TRUSTED_PROXIES', '10.0.0.0/8/8', /TRUSTED_PROXIES has an invalid address/],
      ['TRUSTED_CLIENT_CERT_HEADER', 'X SSL Cert', /TRUSTED_CLIENT_CERT_HEADER must be an HTTP header name/],
      ['TRUSTED_CLIENT_CERT_VERIFY_HEADER', 'X: 1', /TRUSTED_CLIENT_CERT_VERIFY_HEADER must be an HTTP header name/],
      ['JWKS_URI_BLOCK_PRIVATE', 'yes', /JWKS_URI_BLOCK_PRIVATE must be true or false, got "yes"/],
      ['PURGE_INTERVAL_SECONDS', 'often', /PURGE_INTERVAL_SECONDS must be a whole number/],
      ['PASSWORD_RSA_PKCS1', 'yes', /PASSWORD_RSA_PKCS1 must be true or false, got "yes"/],
      ['PASSWORD_RSA_PKCS1', 'TRUE', /PASSWORD_RSA_PKCS1 must be true or false/],
      ['LOGIN_RATE_LIMIT', '-1', /LOGIN_RATE_LIMIT must be a whole number/],
      ['LOGIN_RATE_LIMIT_PER_CLIENT', '1.5', /LOGIN_RATE_LIMIT_PER_CLIENT must be a whole number/],
      ['CACHE_TTL_SECONDS', '3601', /CACHE_TTL_SECONDS must be between 0 and 3600/],
      ['CACHE_TTL_SECONDS', '1.5', /CACHE_TTL_SECONDS must be a whole number/],
      ['AUDIT_TOKEN_EVENTS', 'no', /AUDIT_TOKEN_EVENTS must be true or false/],
      ['CLIENT_AUTH_FAILURE_LIMIT', '-1', /CLIENT_AUTH_FAILURE_LIMIT must be a whole number/],
      ['CLIENT_AUTH_FAILURE_LIMIT', '1000001', /CLIENT_AUTH_FAILURE_LIMIT must be between 0 and 1000000/],
      ['DATABASE_STATEMENT_TIMEOUT_MS', '3600001', /DATABASE_STATEMENT_TIMEOUT_MS must be between 0 and 3600000/],
      ['DATABASE_STATEMENT_TIMEOUT_MS', '10s', /DATABASE_STATEMENT_TIMEOUT_MS must be a whole number/],
      ['LOGOUT_DELIVERY_INTERVAL_SECONDS', '3601', /LOGOUT_DELIVERY_INTERVAL_SECONDS must be between 0 and 3600/],
    ])('%s=%j', (variable, value, message) => {
      const error = failure({ [variable]: value });
      expect(error.variable).toBe(variable);
      expect(error.message).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('\n');
    });

    it('BOOTSTRAP_ADMIN_CLIENT_SECRET: too short, or without a client id', () => {
      const short = failure({ BOOTSTRAP_ADMIN_CLIENT_ID: 'admin', BOOTSTRAP_ADMIN_CLIENT_SECRET: 'short' });
      expect(short.variable).toBe('BOOTSTRAP_ADMIN_CLIENT_SECRET');
      expect(short.message).toBe('Invalid configuration: BOOTSTRAP_ADMIN_CLIENT_SECRET must be at least 32 characters');
      const alone = failure({ BOOTSTRAP_ADMIN_CLIENT_SECRET: 's'.repeat(32) });
      expect(alone.message).toBe('Invalid configuration: BOOTSTRAP_ADMIN_CLIENT_SECRET is set but BOOTSTRAP_ADMIN_CLIENT_ID is not');
    });

    it('never echoes a secret or a database password', () => {
      const secret = 'secret-value-that-is-too-short';
      expect(failure({ KEY_ENCRYPTION_SECRET: secret }).message).not.toContain(secret);
      expect(failure({ BOOTSTRAP_ADMIN_CLIENT_ID: 'a', BOOTSTRAP_ADMIN_CLIENT_SECRET: secret }).message).not.toContain(secret);
      expect(failure({ DATABASE_URL: 'postgres://u:hunter2@db/x' }).message).not.toContain('hunter2');
      expect(failure({ DATABASE_URL: 'mysql://u:hunter2@db' }).message).not.toContain('hunter2');
      expect(failure({ DATABASE_URL: 'sqlite://u:hunter2@db/x' }).message).not.toContain('hunter2');
    });
  });

  describe('the process', () => {
    const repo = resolve(__dirname, '../..');
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['-r', 'ts-node/register', 'src/main.ts'], {
        cwd: repo,
        env: { PATH: process.env.PATH, TS_NODE_TRANSPILE_ONLY: 'true', ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });

    it.each([
      ['PORT', { PORT: 'abc' }, 'Invalid configuration: PORT must be a whole number, got "abc"'],
      ['DATABASE_URL', { DATABASE_URL: 'postgres://db/x' }, 'Invalid configuration: DATABASE_URL has unsupported scheme "postgres:" (use sqlite: or mysql:)'],
    ])('exits non-zero printing one line naming %s, with no stack trace', (_variable, env, line) => {
      const result = run(env);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`${line}\n`);
    });
  });
});

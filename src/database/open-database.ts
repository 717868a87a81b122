import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { DriverOptions } from './cluster-driver';
import { dataSourceOptions } from './data-source-options';

/**
 * The database named by DATABASE_URL cannot be used at start-up. Its message is one line that
 * names DATABASE_URL and says what to do; main.ts prints it and exits 1 (SPEC §7).
 */
export class DatabaseUnusableError extends Error {
  constructor(message: string) {
    super(`Database unusable: DATABASE_URL ${message}`);
    this.name = 'DatabaseUnusableError';
  }
}

type DriverError = Error & { code?: string; errno?: number; syscall?: string; driverError?: DriverError };

/** The first line of a driver message, without anything that could break the one-line output. */
const oneLine = (text: string) => text.split('\n')[0].replace(/[\u0000-\u001f\u007f]/g, ' ').trim();

const quoteIdentifier = (name: string) => `\`${name.replace(/`/g, '``')}\``;

interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  database: string;
}

function describeMysqlError(error: DriverError, target: MysqlTarget): string | undefined {
  const where = `${target.host}:${target.port}`;
  const detail = oneLine(error.message);
  switch (error.code) {
    case 'ER_BAD_DB_ERROR':
      return (
        `names database "${target.database}", which does not exist on ${where}: create it with ` +
        `CREATE DATABASE ${quoteIdentifier(target.database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`
      );
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
    case 'ER_DBACCESS_DENIED_ERROR':
    case 'ER_TABLEACCESS_DENIED_ERROR':
    case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
    case 'ER_HOST_NOT_PRIVILEGED':
      return (
        `user "${target.user}" was refused by ${where} (${detail}): check the user and password in DATABASE_URL ` +
        `(percent-encode special characters), and that the user may use the database: ` +
        `GRANT ALL PRIVILEGES ON ${quoteIdentifier(target.database)}.* TO '${target.user}'@'%'`
      );
    case 'ECONNREFUSED':
      return `points at ${where}, where nothing accepts connections: start MariaDB/MySQL there, or correct the host and port in DATABASE_URL`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `names host "${target.host}", which does not resolve: correct the host in DATABASE_URL`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `points at ${where}, which does not answer (${error.code}): check the host, the port and any firewall between here and the database`;
    case 'ER_CON_COUNT_ERROR':
      return `points at ${where}, which has too many connections: raise max_connections there, or lower CLUSTER_WORKERS or the number of instances`;
    default:
      return undefined;
  }
}

function describeSqliteError(error: DriverError, path: string): string | undefined {
  const detail = oneLine(error.message);
  switch (error.code) {
    case 'ENOTDIR':
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
    case 'EEXIST':
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_READONLY':
    case 'SQLITE_PERM':
      return `names the SQLite file "${path}", which cannot be opened for writing (${detail}): point DATABASE_URL at a writable location, e.g. sqlite:./data/gatehouse.sqlite`;
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return `names "${path}", which is not a usable SQLite database (${detail}): point DATABASE_URL at another file, or restore this one from a backup`;
    default:
      return undefined;
  }
}

/** One line for the errors an operator can fix (unknown database, refused user, no server, bad path); undefined otherwise. */
export function describeDatabaseError(error: unknown, options: DataSourceOptions): string | undefined {
  const err = error as DriverError | undefined;
  if (!err || typeof err !== 'object') return undefined;
  const driverError = err.driverError ?? err;
  if (options.type === 'better-sqlite3') return describeSqliteError(driverError, options.database);
  if (options.type === 'mysql') {
    return describeMysqlError(driverError, {
      host: options.host ?? 'localhost',
      port: options.port ?? 3306,
      user: options.username ?? '',
      database: options.database ?? '',
    });
  }
  return undefined;
}

/**
 * Connects to DATABASE_URL and runs the pending migrations, once: no retry loop, since an unknown
 * database or a refused password will not fix itself. (A database that goes away later is the
 * pool's business: requests get 503 until it is back.) Errors an operator can fix become a
 * {@link DatabaseUnusableError}.
 *
 * `statementTimeoutMs` (MySQL/MariaDB; DATABASE_STATEMENT_TIMEOUT_MS) bounds each statement once the
 * data source is open: the migrations, which may rebuild a large table, run without it.
 */
export async function openDatabase(
  databaseUrl: string,
  overrides: { migrationsRun?: boolean; poolSize?: number; statementTimeoutMs?: number } = {},
): Promise<DataSource> {
  const { poolSize, statementTimeoutMs, ...rest } = overrides;
  const driver: DriverOptions = { statementTimeoutMs: 0 };
  const options = { ...dataSourceOptions(databaseUrl, { poolSize, driver }), ...rest } as DataSourceOptions;
  const fail = (error: unknown): never => {
    const description = describeDatabaseError(error, options);
    throw description ? new DatabaseUnusableError(description) : error;
  };
  if (options.type === 'better-sqlite3' && options.database !== ':memory:') {
    try {
      mkdirSync(dirname(options.database), { recursive: true });
    } catch (error) {
      fail(error);
    }
  }
  const dataSource = new DataSource(options);
  try {
    await dataSource.initialize();
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    fail(error);
  }
  driver.statementTimeoutMs = statementTimeoutMs ?? 0;
  return dataSource;
}

import { Logger } from '@nestjs/common';
import type * as mysql2 from 'mysql2';
import type { ClusterSessionOptions } from './cluster-options';
import { isWriteConflict, MYSQL_ERRNO, mysqlErrno } from './errors';
import { CONFLICT_ATTEMPTS, conflictBackoffMs, conflictRetries } from './retry';

type Callback = (error: Error | null, ...results: unknown[]) => void;
type QueryMethod = (sql: unknown, values?: unknown, callback?: unknown) => unknown;
interface DriverConnection {
  query: QueryMethod;
  execute: QueryMethod;
  /** mysql2: ends the connection and takes it out of its pool. */
  destroy?: () => void;
  /** mysql2: the socket. */
  stream?: { destroy?: () => void };
}

/** What a statement that did not finish within DATABASE_STATEMENT_TIMEOUT_MS fails with (mysql2's code for its own query timeout). */
export class StatementTimeoutError extends Error {
  readonly code = 'PROTOCOL_SEQUENCE_TIMEOUT';
  readonly fatal = true;
  constructor(timeoutMs: number) {
    super(`The database did not answer a statement within ${timeoutMs} ms (DATABASE_STATEMENT_TIMEOUT_MS); its connection was closed`);
    this.name = 'StatementTimeoutError';
  }
}

/** Options of the MySQL/MariaDB driver that are not the cluster's. */
export interface DriverOptions {
  /**
   * How long a statement may wait for the server's answer before it fails and its connection is
   * closed; 0 or absent: for ever. Read at each statement (openDatabase sets it after the migrations).
   */
  statementTimeoutMs?: number;
}

const logger = new Logger('Database');
let reportedSyncWaitFailure = false;

/** The SQL text of a query argument: a string, or mysql2's `{ sql, ... }` options. */
function sqlText(sql: unknown): string | undefined {
  if (typeof sql === 'string') return sql;
  const text = (sql as { sql?: unknown } | null)?.sql;
  return typeof text === 'string' ? text : undefined;
}

const BEGINS = /^\s*(START\s+TRANSACTION|BEGIN|XA\s+START)\b|^\s*SET\s+(SESSION\s+|@@SESSION\.|@@)?autocommit\s*=\s*(0|OFF|FALSE)\b/i;
const ENDS = /^\s*(COMMIT|ROLLBACK(?!\s+TO\b)|XA\s+(COMMIT|ROLLBACK))\b|^\s*SET\s+(SESSION\s+|@@SESSION\.|@@)?autocommit\s*=\s*(1|ON|TRUE)\b/i;
/** A multi-statement text that ends its own transaction (SqlRunner's one-round-trip units): no transaction is open after it. */
const ENDS_LAST = /;\s*COMMIT\s*$/i;
const TRANSACTION_CONTROL = /^\s*(START|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|XA|SET)\b/i;

/**
 * Prepares a new pool connection for a multi-primary cluster: the session's wsrep_sync_wait, and
 * statements that lose a write conflict run again.
 *
 * A statement run outside a transaction (autocommit) that fails with a write conflict was rolled
 * back whole: nothing of it happened. It is run again, after a short pause, on the same connection,
 * where with wsrep_sync_wait it sees the write that won, so a conditional UPDATE that lost now
 * reports 0 rows instead of an error. (The server's own wsrep_retry_autocommit does the same, but
 * only as often as the operator configured, and without the pause.)
 *
 * Inside a transaction nothing is run again here: the server has rolled back the whole transaction,
 * so only the whole transaction can be run again (retry.ts `inTransaction`). Transactions are
 * recognised by the statements that begin and end them, which is how TypeORM and mysql2 run them.
 */
export function prepareConnection(connection: DriverConnection, session: ClusterSessionOptions, options: DriverOptions = {}): void {
  limitStatements(connection, options);
  if (session.wsrepSyncWait !== null) {
    // Queued before any statement of the connection's first user. MySQL has no such variable
    // (1193): nothing to set there. MariaDB without Galera ignores it.
    connection.query(`SET SESSION wsrep_sync_wait = ${session.wsrepSyncWait}`, (error: Error | null) => {
      if (!error || mysqlErrno(error) === MYSQL_ERRNO.UNKNOWN_SYSTEM_VARIABLE || reportedSyncWaitFailure) return;
      reportedSyncWaitFailure = true;
      logger.warn(`Could not set wsrep_sync_wait: ${error.message}`);
    });
  }
  let inTransaction = false;
  for (const method of ['query', 'execute'] as const) {
    const original = connection[method].bind(connection) as QueryMethod;
    connection[method] = (sql: unknown, values?: unknown, callback?: unknown): unknown => {
      const text = sqlText(sql);
      if (text !== undefined && BEGINS.test(text)) inTransaction = !ENDS_LAST.test(text);
      else if (text !== undefined && ENDS.test(text)) inTransaction = false;
      const done = (typeof values === 'function' ? values : callback) as Callback | undefined;
      // Streams (no callback), prepared Query objects, transaction control and statements inside a
      // transaction go through untouched.
      if (!done || text === undefined || inTransaction || TRANSACTION_CONTROL.test(text)) return original(sql, values, callback);
      const args = typeof values === 'function' ? [] : [values];
      let attempt = 1;
      const run = (): unknown =>
        original(sql, ...args, (error: Error | null, ...results: unknown[]) => {
          if (error && isWriteConflict(error) && attempt < CONFLICT_ATTEMPTS && !inTransaction) {
            attempt++;
            conflictRetries.statement++;
            setTimeout(run, conflictBackoffMs(attempt));
            return;
          }
          done(error, ...results);
        });
      return run();
    };
  }
}

/**
 * Bounds the wait for each statement's answer (DATABASE_STATEMENT_TIMEOUT_MS): a server that stops
 * answering without closing the connection (a frozen process, a network partition) otherwise holds
 * the request, its connection and its admission permit for ever. The clock starts when the
 * statement is handed to the connection, so it also covers a prepare (mysql2's own `timeout` option
 * starts only at the execute, and never for a statement queued behind one that hangs).
 *
 * On timeout the statement fails with a {@link StatementTimeoutError} (a 503 for the client) and the
 * connection is closed at once and taken out of the pool: its late answer, if one ever comes, would
 * belong to no one, and a later release() of it does nothing. A transaction open on it is rolled
 * back by the server when it sees the connection go; the ROLLBACK the caller then sends fails at
 * once (closed connection). A COMMIT that times out may have committed: as with a connection lost
 * at COMMIT, its outcome is unknown. Statements without a callback (streams, prepared Query objects)
 * are left alone.
 */
function limitStatements(connection: DriverConnection, options: DriverOptions): void {
  for (const method of ['query', 'execute'] as const) {
    const original = connection[method].bind(connection) as QueryMethod;
    connection[method] = (sql: unknown, values?: unknown, callback?: unknown): unknown => {
      const done = (typeof values === 'function' ? values : callback) as Callback | undefined;
      const timeoutMs = options.statementTimeoutMs;
      if (!done || !timeoutMs) return original(sql, values, callback);
      let answered = false;
      const timer = setTimeout(() => {
        answered = true;
        connection.destroy?.();
        connection.stream?.destroy?.();
        done(new StatementTimeoutError(timeoutMs));
      }, timeoutMs);
      const answer = (error: Error | null, ...results: unknown[]) => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        done(error, ...results);
      };
      return typeof values === 'function' ? original(sql, answer) : original(sql, values, answer);
    };
  }
}

/**
 * mysql2 as TypeORM's MySQL driver uses it (its `driver` option), with every pool connection
 * prepared for a multi-primary cluster (prepareConnection). On a single server it changes nothing
 * but this: a statement that deadlocks is run again instead of failing the request, and each
 * statement waits at most `statementTimeoutMs` for its answer (limitStatements).
 */
export function clusterAwareMysql2(session: ClusterSessionOptions, options: DriverOptions = {}): typeof mysql2 {
  // Loaded here, not at the top: a process on SQLite never loads mysql2 (~2.5 MiB of heap).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const driver = require('mysql2') as typeof mysql2;
  const createPool = (config: mysql2.PoolOptions) => {
    const pool = driver.createPool(config);
    // Emitted for each new connection before it is handed to whoever asked for it.
    pool.on('connection', (connection) => prepareConnection(connection as unknown as DriverConnection, session, options));
    return pool;
  };
  // Everything else is mysql2's own, inherited from its exports.
  return Object.create(driver, { createPool: { value: createPool, enumerable: true } }) as typeof mysql2;
}

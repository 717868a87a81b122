import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Worker } from 'node:worker_threads';
import { DataSource } from 'typeorm';

/** How often the checkpointer copies the write-ahead log into the database file. */
export const CHECKPOINT_INTERVAL_MS = 200;
/**
 * The service's own connection checkpoints only once the log holds this many pages (SQLite's
 * default is 1,000): a safety net that bounds the log if the checkpointer stops or cannot keep up.
 */
export const SAFETY_NET_PAGES = 10_000;

/** What one passive checkpoint did (`PRAGMA wal_checkpoint(PASSIVE)`): pages in the log, and copied so far. */
export interface CheckpointResult {
  log: number;
  checkpointed: number;
}

/**
 * The checkpointer's thread: a connection of its own to the same file, a passive checkpoint every
 * `intervalMs`. A passive checkpoint never waits for the writer and never blocks it; when another
 * connection is checkpointing (another cluster worker's checkpointer), it is busy and skips a turn.
 * Plain JavaScript run as the worker's source (`eval`), so that it runs the same from `src` under
 * the tests and from `dist`; the driver is loaded from the path the service resolved.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let db;
let failure;
try {
  const Database = require(workerData.driver);
  db = new Database(workerData.file, { fileMustExist: true });
  db.pragma('busy_timeout = 0');
  db.pragma('synchronous = NORMAL');
} catch (error) {
  failure = String((error && error.message) || error);
  try { if (db) db.close(); } catch {}
}
if (failure === undefined) {
  const timer = setInterval(() => {
    try {
      const [result] = db.pragma('wal_checkpoint(PASSIVE)');
      if (result.busy === 0 && result.checkpointed > 0) parentPort.postMessage({ log: result.log, checkpointed: result.checkpointed });
    } catch {
      // SQLITE_BUSY or the file gone: the next turn tries again; the safety net holds meanwhile.
    }
  }, workerData.intervalMs);
  parentPort.on('message', () => {
    clearInterval(timer);
    try { db.close(); } catch {}
    parentPort.close();
  });
} else {
  // Not started (the file gone, the driver not loadable): say so and end, without an uncaught error.
  parentPort.postMessage({ failed: failure });
  parentPort.close();
}
`;

interface SqliteConnection {
  pragma(source: string): unknown;
}

/**
 * SQLite only: moves checkpoints of the write-ahead log off the event-loop thread.
 *
 * better-sqlite3 is synchronous, and by default the commit that takes the log past 1,000 pages
 * checkpoints it on the spot: it copies the log into the database file and fsyncs it on the
 * event-loop thread, which stalls every request in flight (30-45 commits over 5 ms, up to 66 ms,
 * per 8 s of refreshes: docs/performance.md). Here a worker thread with its own connection runs a
 * passive checkpoint every CHECKPOINT_INTERVAL_MS, and the service's connection keeps its own
 * automatic checkpoint only as a safety net (SAFETY_NET_PAGES), which then finds the pages
 * already copied. Durability is unchanged (`synchronous` as before on both connections); only
 * which thread does the copying and the fsync changes. Not for `:memory:` (no log to checkpoint).
 */
@Injectable()
export class WalCheckpointer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Database');
  private worker?: Worker;
  private readonly listeners = new Set<(result: CheckpointResult) => void>();

  constructor(private readonly dataSource: DataSource) {}

  onApplicationBootstrap(): void {
    const { type, database } = this.dataSource.options as { type: string; database?: unknown };
    if (type !== 'better-sqlite3' || typeof database !== 'string' || database === ':memory:') return;
    const connection = (this.dataSource.driver as unknown as { databaseConnection?: SqliteConnection }).databaseConnection;
    if (!connection) return;
    this.start(connection, database);
  }

  /** Stopped before the data source closes (TypeORM closes it in its own onApplicationShutdown). Stopping twice is harmless. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** Calls `listener` after each checkpoint that copied pages (for the tests). */
  onCheckpoint(listener: (result: CheckpointResult) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get running(): boolean {
    return this.worker !== undefined;
  }

  private start(connection: SqliteConnection, file: string): void {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver: require.resolve('better-sqlite3'), file, intervalMs: CHECKPOINT_INTERVAL_MS },
      // A few MiB: the thread only loads the driver and runs one pragma at a time.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
      name: 'sqlite-checkpointer',
    });
    worker.unref();
    worker.on('message', (message: CheckpointResult | { failed: string }) => {
      if ('failed' in message) fallBack(message.failed);
      else this.listeners.forEach((listener) => listener(message));
    });
    worker.on('error', (error) => fallBack(error.message));
    const fallBack = (reason: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      // The service's connection may be closing or closed already (the application stopping):
      // then there is nothing to take over.
      if (!this.dataSource.isInitialized) return;
      // The safety net takes over: checkpoints are back on the event-loop thread, as SQLite does by default.
      this.logger.warn(`The SQLite checkpointer stopped (${reason}); checkpoints run on the service's connection again`);
      try {
        connection.pragma('wal_autocheckpoint = 1000');
      } catch {
        // Closed between the check and the pragma: the same as above.
      }
    };
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    this.worker = worker;
    connection.pragma(`wal_autocheckpoint = ${SAFETY_NET_PAGES}`);
  }

  private async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('stop');
    const timeout = setTimeout(() => void worker.terminate(), 2_000);
    await exited;
    clearTimeout(timeout);
  }
}

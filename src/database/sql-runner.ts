import { Injectable } from '@nestjs/common';
import { DataSource, type EntityMetadata, type EntityTarget, type ObjectLiteral } from 'typeorm';
import { retryOnConflict } from './retry';

/** A bound value: instants are bound as epoch milliseconds, booleans as 1/0 — never written into the SQL text. */
export type SqlValue = string | number | boolean | Date | null | undefined;

/** One write of an atomic unit. `expect`: the unit is rolled back unless the statement changed exactly this many rows. */
export interface WriteStep {
  sql: string;
  params: SqlValue[];
  expect?: number;
}

/**
 * One read of an atomic flow (`atomicFlow`): its first row, or undefined, turned by `read` into
 * what the flow needs (the owner of the table writes both the SQL and `read`).
 */
export interface ReadStep<R> {
  sql: string;
  params: SqlValue[];
  read: (row: Record<string, unknown> | undefined) => R;
}

/**
 * An atomic unit whose later statements depend on what the earlier ones did: a generator that
 * yields each statement and gets back, for a WriteStep, the rows it changed, and for a ReadStep its
 * result. Write it with `yield* write(step)` and `yield* read(step)`, which type the answers. It
 * must have no effect outside the database: on MySQL it may run again from the start (retryOnConflict).
 */
export type AtomicFlow<T> = Generator<WriteStep | ReadStep<unknown>, T, unknown>;

/** In an AtomicFlow: runs a write, answers the rows it changed. */
export function* write(step: WriteStep): Generator<WriteStep, number, unknown> {
  return (yield step) as number;
}

/** In an AtomicFlow: runs a read, answers what its `read` made of the first row. */
export function* read<R>(step: ReadStep<R>): Generator<ReadStep<R>, R, unknown> {
  return (yield step) as R;
}

function isRead(step: WriteStep | ReadStep<unknown>): step is ReadStep<unknown> {
  return typeof (step as ReadStep<unknown>).read === 'function';
}

/** What an atomic unit did: committed, or rolled back because step `failedStep`'s `expect` did not hold. */
export type AtomicResult = { committed: true; changes: number[] } | { committed: false; failedStep: number };

/** Thrown inside a transaction to roll it back when a step's `expect` does not hold. */
class StepMismatch extends Error {
  constructor(readonly step: number) {
    super(`step ${step} changed an unexpected number of rows`);
  }
}

interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  transaction<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T;
}
type Callback = (error: Error | null, result?: unknown) => void;
interface MysqlConnection {
  execute(sql: string, params: unknown[], callback: Callback): void;
  query(sql: string, callback: Callback): void;
  query(sql: string, values: unknown[], callback: Callback): void;
  format(sql: string, values: unknown[]): string;
  release(): void;
  config?: { multipleStatements?: boolean };
}

interface Hydrator {
  metadata: EntityMetadata;
  primaryKey: string;
  fields: { key: string; column: EntityMetadata['columns'][number]; property?: string }[];
}

/** The session variable of a one-round-trip unit that carries its first step's outcome to the steps after it. */
const GATE = '@gatehouse_gate';

/**
 * Hand-written, parameter-bound SQL for the token path, beside TypeORM (which keeps the schema,
 * the migrations and the admin API). Every statement's text is a constant, so it is prepared once
 * and reused: on SQLite a better-sqlite3 statement cached by its text, on MySQL/MariaDB a mysql2
 * prepared statement (`execute`, cached per connection). The statements use `?` placeholders and
 * portable SQL, identical on both stores. Owners of a table use this, as they use their
 * repository; the table-ownership rule applies to the SQL they write (docs/architecture.md).
 *
 * `atomic` runs several writes as one transaction: all commit or none. On SQLite the whole unit
 * runs synchronously (better-sqlite3 is synchronous), so no other request's statement can run
 * inside it; on MySQL it runs on one pooled connection, and a write conflict (deadlock, Galera
 * certification failure, 1213) at any statement or at COMMIT rolls the unit back and runs it again
 * (retryOnConflict), so only a committed run decides. `atomicFlow` is the same for a unit whose
 * statements depend on the answers of the earlier ones (a count that locks only when it reaches a
 * threshold, then the audit rows of what it did).
 */
@Injectable()
export class SqlRunner {
  readonly dialect: 'sqlite' | 'mysql';
  private preparedOn?: SqliteDatabase;
  private readonly prepared = new Map<string, SqliteStatement>();
  private readonly selectLists = new Map<string, string>();
  private readonly pendingRows = new Map<string, { head: string; row: string; rows: SqlValue[][]; settle: { resolve: () => void; reject: (error: unknown) => void }[] }>();
  private rowsScheduled = false;

  constructor(private readonly dataSource: DataSource) {
    this.dialect = dataSource.options.type === 'better-sqlite3' ? 'sqlite' : 'mysql';
  }

  /** The SQLite connection, asked for each time: a data source closed and opened again has a new one. */
  private get sqlite(): SqliteDatabase | undefined {
    if (this.dialect !== 'sqlite') return undefined;
    const connection = (this.dataSource.driver as unknown as { databaseConnection?: SqliteDatabase }).databaseConnection;
    if (!connection || !this.dataSource.isInitialized) throw Object.assign(new Error('The database connection is not open'), { name: 'ConnectionIsNotSetError' });
    return connection;
  }

  /** The first row of a SELECT, or undefined. */
  async get<T = Record<string, unknown>>(sql: string, params: SqlValue[]): Promise<T | undefined> {
    if (this.sqlite) return this.statement(sql).get(...bind(params)) as T | undefined;
    const rows = (await this.onConnection((connection) => execute(connection, sql, bind(params)))) as T[];
    return rows[0];
  }

  /** Every row of a SELECT. */
  async all<T = Record<string, unknown>>(sql: string, params: SqlValue[]): Promise<T[]> {
    if (this.sqlite) return this.statement(sql).all(...bind(params)) as T[];
    return (await this.onConnection((connection) => execute(connection, sql, bind(params)))) as T[];
  }

  /**
   * Inserts one row (`head` and `row` as for insertRowsSteps) together with the other rows the
   * service inserts into the same table in the same turn of the event loop: a group commit. The
   * rows are written at the next `setImmediate`, in as few multi-row INSERTs as CHUNK_ROWS allows,
   * in one transaction (one commit for all of them, where each alone cost one: on SQLite, a WAL
   * write per commit on the event-loop thread; on MySQL, a round trip and a log flush per commit).
   * Resolves once the row is committed, or rejects with the error that failed its group: the caller
   * answers only after that, as after a plain `run`. For rows that stand alone (an opaque access
   * token of client_credentials), never for a write that must commit with others.
   */
  insertRow(head: string, row: string, params: SqlValue[]): Promise<void> {
    const key = `${head}\n${row}`;
    let group = this.pendingRows.get(key);
    if (!group) this.pendingRows.set(key, (group = { head, row, rows: [], settle: [] }));
    const pending = group;
    return new Promise((resolve, reject) => {
      pending.rows.push(params);
      pending.settle.push({ resolve, reject });
      if (!this.rowsScheduled) {
        this.rowsScheduled = true;
        setImmediate(() => this.writePendingRows());
      }
    });
  }

  private writePendingRows(): void {
    this.rowsScheduled = false;
    const groups = [...this.pendingRows.values()];
    this.pendingRows.clear();
    for (const group of groups) {
      const steps = insertRowsSteps(group.head, group.row, group.rows);
      // One multi-row INSERT is atomic on its own; several need a transaction.
      const written = steps.length === 1 ? this.run(steps[0].sql, steps[0].params) : this.atomic(steps);
      written.then(
        () => group.settle.forEach(({ resolve }) => resolve()),
        (error: unknown) => group.settle.forEach(({ reject }) => reject(error)),
      );
    }
  }

  /** One autocommit write; returns the rows it changed. */
  async run(sql: string, params: SqlValue[]): Promise<number> {
    if (this.sqlite) return this.statement(sql).run(...bind(params)).changes;
    const result = await this.onConnection((connection) => execute(connection, sql, bind(params)));
    return (result as { affectedRows: number }).affectedRows;
  }

  /** Runs the steps in one transaction: all commit, or none (a step's `expect` failed, or the database failed). */
  async atomic(steps: WriteStep[]): Promise<AtomicResult> {
    if (this.sqlite) return this.atomicInGroup(steps);
    try {
      return await retryOnConflict(() =>
        this.onConnection(async (connection) => {
          const text = this.oneTrip(connection, steps);
          if (text) return this.atomicInOneTrip(connection, steps, text);
          await query(connection, 'START TRANSACTION');
          try {
            const changes: number[] = [];
            for (const [index, step] of steps.entries()) {
              const result = await this.executeStepAsync(step, index, async (s) => ((await query(connection, s.sql, bind(s.params))) as { affectedRows: number }).affectedRows);
              changes.push(result);
            }
            await query(connection, 'COMMIT');
            return { committed: true as const, changes };
          } catch (error) {
            await query(connection, 'ROLLBACK').catch(() => undefined);
            throw error;
          }
        }),
      );
    } catch (error) {
      if (error instanceof StepMismatch) return { committed: false, failedStep: error.step };
      throw error;
    }
  }

  /**
   * The unit as one multi-statement text, or undefined when it cannot be one (see atomicInOneTrip).
   * The steps after the first run gated on the first step's outcome (`GATE`), so that when it
   * changed other than the one row it expects, none of them writes anything.
   */
  private oneTrip(connection: MysqlConnection, steps: WriteStep[]): string | undefined {
    if (!connection.config?.multipleStatements || !steps.length || steps.slice(1).some((step) => step.expect !== undefined)) return undefined;
    const gated = steps[0].expect !== undefined;
    if (gated && steps[0].expect !== 1) return undefined;
    const parts = ['START TRANSACTION', connection.format(steps[0].sql, bind(steps[0].params))];
    if (gated) parts.push(`SET ${GATE} = ROW_COUNT()`);
    for (const step of steps.slice(1)) {
      const sql = gated ? gatedSql(step.sql) : step.sql;
      if (sql === undefined) return undefined;
      parts.push(connection.format(sql, bind(step.params)));
    }
    parts.push('COMMIT');
    return parts.join(';\n');
  }

  /**
   * An atomic unit on MySQL in one round trip: `START TRANSACTION; step; [SET gate;] steps...;
   * COMMIT` as one text, its values escaped by mysql2 (the connection's `format`, as for every
   * TypeORM query). Only for units whose one `expect` is on the first step and is 1: that step
   * (a conditional UPDATE of one row by its key) decides, and the steps after it write only when
   * it changed its row; when it did not, the transaction commits nothing at all. A failure at any
   * statement stops the text there (the server runs no statement after it); the transaction is
   * then rolled back and the error thrown, for retryOnConflict to run the unit again when it was a
   * write conflict, which on Galera can come at the COMMIT.
   *
   * Every step still passes the `executeStepAsync` seam, all of them before the text is sent, each
   * given the rows its own statement changed once it has run; a step the seam fails (the tests'
   * injected outage) stops the unit before anything is sent.
   */
  private async atomicInOneTrip(connection: MysqlConnection, steps: WriteStep[], text: string): Promise<AtomicResult> {
    let settle!: (outcome: number[] | Error) => void;
    const ran = new Promise<number[]>((resolve, reject) => (settle = (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome))));
    ran.catch(() => undefined);
    const reached = steps.map(() => false);
    const seams = steps.map((step, index) =>
      this.executeStepAsync(step, index, () => {
        reached[index] = true;
        return ran.then((changes) => changes[index]);
      }),
    );
    seams.forEach((seam) => seam.catch(() => undefined));
    if (reached.includes(false)) {
      settle(new Error('not sent'));
      const failed = (await Promise.allSettled(seams)).find((outcome, index) => !reached[index] && outcome.status === 'rejected') as PromiseRejectedResult | undefined;
      throw failed?.reason ?? new Error('a step of the unit was not run');
    }
    let results: { affectedRows?: number }[];
    try {
      results = (await query(connection, text)) as { affectedRows?: number }[];
    } catch (error) {
      await query(connection, 'ROLLBACK').catch(() => undefined);
      settle(error as Error);
      await Promise.allSettled(seams);
      throw error;
    }
    // Results: START TRANSACTION, the first step, [SET], the other steps, COMMIT.
    const offset = steps[0].expect !== undefined ? 1 : 0;
    settle(steps.map((_, index) => results[index === 0 ? 1 : index + 1 + offset]?.affectedRows ?? 0));
    const changes = await Promise.all(seams);
    return { committed: true, changes };
  }

  /**
   * Runs a flow (see AtomicFlow) in one transaction and returns what it returned once COMMIT has
   * succeeded: all its writes commit, or none (the database failed, the flow threw, or a write's
   * `expect` did not hold — atomicFlow then throws). Writes go through `executeStep`/`executeStepAsync`,
   * numbered in the order the flow yields them, as `atomic`'s do. On SQLite the whole flow runs
   * synchronously inside one better-sqlite3 transaction, so no other request's statement runs in
   * between; on MySQL on one pooled connection, and a write conflict at any statement or at COMMIT
   * runs the flow again from the start (retryOnConflict): only the committed run's answers count.
   * `conflictAttempts` (default CONFLICT_ATTEMPTS) bounds those runs, for a unit that every
   * concurrent request must commit in turn on one row, rather than one of them win.
   */
  async atomicFlow<T>(flow: () => AtomicFlow<T>, options: { conflictAttempts?: number } = {}): Promise<T> {
    if (this.sqlite) {
      const sqlite = this.sqlite;
      return sqlite.transaction(() => {
        const running = flow();
        let writes = 0;
        let next = running.next();
        while (!next.done) {
          const step = next.value;
          const answer = isRead(step)
            ? step.read(this.statement(step.sql).get(...bind(step.params)) as Record<string, unknown> | undefined)
            : this.executeStep(step, writes++, (s) => this.statement(s.sql).run(...bind(s.params)).changes);
          next = running.next(answer);
        }
        return next.value;
      })();
    }
    return retryOnConflict(() =>
      this.onConnection(async (connection) => {
        await query(connection, 'START TRANSACTION');
        try {
          const running = flow();
          let writes = 0;
          let next = running.next();
          while (!next.done) {
            const step = next.value;
            const answer = isRead(step)
              ? step.read(((await query(connection, step.sql, bind(step.params))) as Record<string, unknown>[])[0])
              : await this.executeStepAsync(step, writes++, async (s) => ((await query(connection, s.sql, bind(s.params))) as { affectedRows: number }).affectedRows);
            next = running.next(answer);
          }
          await query(connection, 'COMMIT');
          return next.value;
        } catch (error) {
          await query(connection, 'ROLLBACK').catch(() => undefined);
          throw error;
        }
      }),
      options.conflictAttempts,
    );
  }

  /**
   * `alias.column AS alias__column, ...` for every column of an entity, built once: with
   * `hydrate`, a JOIN reads whole rows of several tables in one statement.
   */
  columns(target: EntityTarget<ObjectLiteral>, alias: string): string {
    const metadata = this.dataSource.getMetadata(target);
    const key = `${metadata.tableName}:${alias}`;
    let list = this.selectLists.get(key);
    if (!list) {
      list = metadata.columns.map((c) => `${alias}.${c.databaseName} AS ${alias}__${c.databaseName}`).join(', ');
      this.selectLists.set(key, list);
    }
    return list;
  }

  /** The entity of `target` from the `alias__column` fields of a row (see `columns`), with the column transformers applied; null when its key is null (no row joined). */
  hydrate<T extends ObjectLiteral>(target: EntityTarget<T>, alias: string, row: Record<string, unknown>): T | null {
    const hydrator = this.hydrator(target, alias);
    if (row[hydrator.primaryKey] == null) return null;
    const entity = hydrator.metadata.create() as T;
    const driver = this.dataSource.driver;
    for (const field of hydrator.fields) {
      const value = driver.prepareHydratedValue(row[field.key], field.column);
      if (field.property) (entity as Record<string, unknown>)[field.property] = value;
      else field.column.setEntityValue(entity, value);
    }
    return entity;
  }

  private readonly hydrators = new Map<EntityTarget<ObjectLiteral>, Map<string, Hydrator>>();
  /** What `hydrate` needs of an entity's metadata, looked up once per target and alias (a string target is otherwise searched for on every call). */
  private hydrator(target: EntityTarget<ObjectLiteral>, alias: string): Hydrator {
    let byAlias = this.hydrators.get(target);
    if (!byAlias) this.hydrators.set(target, (byAlias = new Map()));
    let hydrator = byAlias.get(alias);
    if (!hydrator) {
      const metadata = this.dataSource.getMetadata(target);
      hydrator = {
        metadata,
        primaryKey: `${alias}__${metadata.primaryColumns[0].databaseName}`,
        fields: metadata.columns.map((column) => ({
          key: `${alias}__${column.databaseName}`,
          column,
          // A plain property of the entity itself is assigned directly; embedded or relation columns go through TypeORM.
          property: !column.embeddedMetadata && !column.relationMetadata && !column.referencedColumn ? column.propertyName : undefined,
        })),
      };
      byAlias.set(alias, hydrator);
    }
    return hydrator;
  }

  /**
   * Runs one step of an atomic unit and checks its `expect`. Its own method so that the
   * failure-injection tests can make a given write fail (jest.spyOn); nothing else reaches it.
   */
  executeStep(step: WriteStep, index: number, run: (step: WriteStep) => number): number {
    const changes = run(step);
    if (step.expect !== undefined && changes !== step.expect) throw new StepMismatch(index);
    return changes;
  }

  /** executeStep for MySQL's asynchronous driver; the same seam for the tests. */
  async executeStepAsync(step: WriteStep, index: number, run: (step: WriteStep) => Promise<number>): Promise<number> {
    const changes = await run(step);
    if (step.expect !== undefined && changes !== step.expect) throw new StepMismatch(index);
    return changes;
  }

  /**
   * The unit as a better-sqlite3 transaction function, made once per connection (making one builds
   * four wrapper functions, which cost more than the statements of a refresh did).
   */
  /**
   * SQLite: the unit joins the others requested in the same turn of the event loop, and at the next
   * `setImmediate` they all run, synchronously, in one transaction with one commit (a group
   * commit: each commit of a WAL database costs the event-loop thread its own WAL write). Each unit
   * runs in a savepoint of its own, so one that fails (a step's `expect`, a constraint, an injected
   * failure) is rolled back alone and answered alone; the others commit. Nothing else runs between
   * the BEGIN and the COMMIT, so no request ever reads what a unit wrote before it is committed. If
   * the COMMIT itself fails, every unit of the group fails with its error.
   */
  private atomicInGroup(steps: WriteStep[]): Promise<AtomicResult> {
    return new Promise((resolve, reject) => {
      this.pendingUnits.push({ steps, resolve, reject });
      if (this.unitsScheduled) return;
      this.unitsScheduled = true;
      setImmediate(() => this.commitPendingUnits());
    });
  }
  private pendingUnits: { steps: WriteStep[]; resolve: (result: AtomicResult) => void; reject: (error: unknown) => void }[] = [];
  private unitsScheduled = false;

  private commitPendingUnits(): void {
    this.unitsScheduled = false;
    const units = this.pendingUnits;
    this.pendingUnits = [];
    let outcomes: ({ result: AtomicResult } | { error: unknown })[];
    try {
      const unit = this.sqliteTransaction();
      this.groupFn ??= this.sqlite!.transaction((group: WriteStep[][]) =>
        group.map((steps) => {
          try {
            // A transaction function called inside another runs as a savepoint (better-sqlite3).
            return { result: unit(steps) };
          } catch (error) {
            return error instanceof StepMismatch ? { result: { committed: false as const, failedStep: error.step } } : { error };
          }
        }),
      );
      outcomes = this.groupFn(units.map((u) => u.steps));
    } catch (error) {
      for (const u of units) u.reject(error);
      return;
    }
    units.forEach((u, i) => {
      const outcome = outcomes[i];
      if ('result' in outcome) u.resolve(outcome.result);
      else u.reject(outcome.error);
    });
  }
  private groupFn?: (group: WriteStep[][]) => ({ result: AtomicResult } | { error: unknown })[];

  private sqliteTransaction(): (steps: WriteStep[]) => AtomicResult {
    this.statementsFor(this.sqlite!);
    this.transactionFn ??= this.sqlite!.transaction((steps: WriteStep[]) => ({
      committed: true as const,
      changes: steps.map((step, index) => this.executeStep(step, index, (s) => this.statement(s.sql).run(...bind(s.params)).changes)),
    }));
    return this.transactionFn;
  }
  private transactionFn?: (steps: WriteStep[]) => AtomicResult;

  /** Forgets what was prepared on an earlier connection (a data source closed and opened again). */
  private statementsFor(connection: SqliteDatabase): void {
    if (connection === this.preparedOn) return;
    this.prepared.clear();
    this.transactionFn = undefined;
    this.groupFn = undefined;
    this.preparedOn = connection;
  }

  private statement(sql: string): SqliteStatement {
    const connection = this.sqlite!;
    this.statementsFor(connection);
    let statement = this.prepared.get(sql);
    if (!statement) {
      statement = connection.prepare(sql);
      this.prepared.set(sql, statement);
    }
    return statement;
  }

  private async onConnection<T>(work: (connection: MysqlConnection) => Promise<T>): Promise<T> {
    const driver = this.dataSource.driver as unknown as { obtainMasterConnection(): Promise<MysqlConnection> };
    const connection = await driver.obtainMasterConnection();
    try {
      return await work(connection);
    } finally {
      connection.release();
    }
  }
}

/** Multi-row INSERTs are written in statements of these many rows (largest first): a handful of constant texts, each prepared once. */
const CHUNK_ROWS = [256, 64, 16, 4, 1];
const INSERT_TEXTS = new Map<string, string>();

/**
 * The INSERTs of several rows into one table: `head` is `INSERT INTO table (columns)`, `row` the
 * placeholder tuple of one row (`(?, ?, NULL)`), `rows` each row's parameters, written in chunks of
 * CHUNK_ROWS rows in the order given.
 */
export function insertRowsSteps(head: string, row: string, rows: SqlValue[][]): WriteStep[] {
  const steps: WriteStep[] = [];
  let at = 0;
  for (const size of CHUNK_ROWS) {
    while (rows.length - at >= size) {
      const key = `${head}\n${row}\n${size}`;
      let sql = INSERT_TEXTS.get(key);
      if (!sql) INSERT_TEXTS.set(key, (sql = `${head} VALUES ${Array(size).fill(row).join(', ')}`));
      steps.push({ sql, params: rows.slice(at, at + size).flat() });
      at += size;
    }
  }
  return steps;
}

const gatedForms = new Map<string, string | undefined>();

/**
 * A step's statement that writes only when the unit's first step changed its row (`GATE` = 1):
 * `INSERT INTO t (...) VALUES (...)` becomes `INSERT INTO t (...) SELECT ... FROM DUAL WHERE gate`,
 * and an UPDATE or DELETE gets `AND gate` on its WHERE. Undefined for any other shape (the unit
 * then runs statement by statement).
 */
function gatedSql(sql: string): string | undefined {
  if (gatedForms.has(sql)) return gatedForms.get(sql);
  let gated: string | undefined;
  const insert = /^INSERT INTO (\w+) (\([^()]*\)) VALUES \(([^()]*)\)$/.exec(sql);
  const where = /^((?:UPDATE|DELETE FROM) \w+ (?:SET [^()]* )?)WHERE ([^()]*)$/.exec(sql);
  if (insert) gated = `INSERT INTO ${insert[1]} ${insert[2]} SELECT ${insert[3]} FROM DUAL WHERE ${GATE} = 1`;
  else if (where) gated = `${where[1]}WHERE (${where[2]}) AND ${GATE} = 1`;
  gatedForms.set(sql, gated);
  return gated;
}

function bind(params: SqlValue[]): unknown[] {
  return params.map((value) => (value === undefined ? null : value instanceof Date ? value.getTime() : typeof value === 'boolean' ? (value ? 1 : 0) : value));
}

/**
 * A statement outside any transaction, as a server-side prepared statement (prepared once per
 * connection and text, then only executed).
 */
function execute(connection: MysqlConnection, sql: string, params: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => connection.execute(sql, params, (error, result) => (error ? reject(error) : resolve(result))));
}

/**
 * A statement as text (transaction control, the one-round-trip texts, and every statement inside an
 * explicit transaction): sent as text, its values escaped by mysql2 (as
 * TypeORM sends every query), never as a prepared statement. On MariaDB Galera a transaction that
 * another node's write aborts (brute-force abort) while its connection prepares a statement can
 * lose that abort: the COM_STMT_PREPARE succeeds, the transaction's earlier writes are rolled back
 * without an error, and the statements after it, and the COMMIT, run and succeed outside any
 * transaction. Measured on MariaDB 10.11 with Galera 4 (docs/decisions.md): a failed-login
 * transaction (UPDATE the counter, SELECT it, INSERT the audit row) on two nodes lost its UPDATE
 * in 5 of 60-100 bursts of 50 when its statements were first prepared inside the transaction, and
 * in 0 of 100 when they were sent as text or prepared beforehand.
 */
function query(connection: MysqlConnection, sql: string, params?: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const done: Callback = (error, result) => (error ? reject(error) : resolve(result));
    if (params) connection.query(sql, params, done);
    else connection.query(sql, done);
  });
}

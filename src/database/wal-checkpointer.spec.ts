import { mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { openDatabase } from './open-database';
import { SAFETY_NET_PAGES, WalCheckpointer, type CheckpointResult } from './wal-checkpointer';

interface Sqlite {
  pragma(source: string, options?: { simple: boolean }): unknown;
  exec(source: string): void;
  prepare(source: string): { run(...params: unknown[]): unknown };
}

const connectionOf = (dataSource: DataSource) => (dataSource.driver as unknown as { databaseConnection: Sqlite }).databaseConnection;

describe(WalCheckpointer.name, () => {
  let dir: string;
  let dataSource: DataSource | undefined;
  let checkpointer: WalCheckpointer | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-checkpointer-'));
  });
  afterEach(async () => {
    await checkpointer?.beforeApplicationShutdown();
    if (dataSource?.isInitialized) await dataSource.destroy();
    checkpointer = dataSource = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it("copies what the service's connection commits into the database file from its own thread, and leaves that connection only a safety net", async () => {
    const file = join(dir, 'gh.sqlite');
    dataSource = await openDatabase(`sqlite:${file}`, { migrationsRun: false });
    const connection = connectionOf(dataSource);
    expect(connection.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    checkpointer = new WalCheckpointer(dataSource);
    const copied: CheckpointResult[] = [];
    checkpointer.onCheckpoint((result) => copied.push(result));
    checkpointer.onApplicationBootstrap();

    expect(checkpointer.running).toBe(true);
    expect(connection.pragma('wal_autocheckpoint', { simple: true })).toBe(SAFETY_NET_PAGES);
    // ~1,500 pages of commits, one transaction each: past SQLite's default of 1,000 pages, which
    // would have checkpointed on this (the event-loop) thread.
    connection.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const insert = connection.prepare('INSERT INTO t (v) VALUES (?)');
    for (let i = 0; i < 1_500; i++) insert.run('x'.repeat(3_000));
    // Until the thread has copied all of it and said so: a checkpoint can run while the inserts do,
    // and copy part; its message reaches this thread after the file has grown.
    const copiedAll = () => statSync(file).size > 1_500 * 3_000;
    const deadline = Date.now() + 5_000;
    while ((copied.length === 0 || !copiedAll()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));

    expect(copied.length).toBeGreaterThan(0);
    expect(Math.max(...copied.map((c) => c.checkpointed))).toBeGreaterThan(100);
    // The rows are in the database file itself, not only in the log: without the checkpointer
    // (the service's connection now checkpoints only at 10,000 pages) the file would still hold
    // little more than the schema.
    expect(copiedAll()).toBe(true);
    await checkpointer.beforeApplicationShutdown();
    expect(checkpointer.running).toBe(false);
  });

  it('stops when the application stops, and stopping twice is harmless', async () => {
    dataSource = await openDatabase(`sqlite:${join(dir, 'gh.sqlite')}`, { migrationsRun: false });
    checkpointer = new WalCheckpointer(dataSource);
    checkpointer.onApplicationBootstrap();
    expect(checkpointer.running).toBe(true);
    await checkpointer.beforeApplicationShutdown();
    await checkpointer.beforeApplicationShutdown();
    expect(checkpointer.running).toBe(false);
  });

  it("gives the checkpoints back to the service's connection when its thread cannot run", async () => {
    const file = join(dir, 'gh.sqlite');
    dataSource = await openDatabase(`sqlite:${file}`, { migrationsRun: false });
    const connection = connectionOf(dataSource);
    // The service's connection keeps the file open; the thread, which opens it by name, finds nothing there.
    renameSync(file, join(dir, 'moved.sqlite'));
    checkpointer = new WalCheckpointer(dataSource);
    checkpointer.onApplicationBootstrap();
    expect(connection.pragma('wal_autocheckpoint', { simple: true })).toBe(SAFETY_NET_PAGES);
    const deadline = Date.now() + 5_000;
    while (checkpointer.running && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(checkpointer.running).toBe(false);
    expect(connection.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  });

  it('does nothing for an in-memory database', async () => {
    dataSource = await openDatabase('sqlite::memory:', { migrationsRun: false });
    checkpointer = new WalCheckpointer(dataSource);
    checkpointer.onApplicationBootstrap();
    expect(checkpointer.running).toBe(false);
  });
});

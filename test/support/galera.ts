import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createConnection, type Connection } from 'mysql2/promise';
import type { TestDatabase } from './database';
import { freePort } from './service';

const SCRIPT = resolve(__dirname, 'galera-cluster.sh');
/** Debian's galera-4; WSREP_PROVIDER names another build. */
export const GALERA_PROVIDER = process.env.WSREP_PROVIDER ?? '/usr/lib/galera/libgalera_smm.so';
export const GALERA_NODES = 3;
/** SQL, group communication, IST and SST. */
const PORTS_PER_NODE = 4;

export interface GaleraCluster {
  /** The cluster's temporary directory: one data directory, option file and error log per node. */
  dir: string;
  /** The SQL port of each node, on 127.0.0.1. */
  ports: number[];
  /** Milliseconds from the first command to every node Synced in a cluster of three. */
  startMs: number;
  /** A new empty database on the cluster; `url(node)` reaches it through that node. */
  createDatabase(): Promise<ClusterDatabase>;
  /** A connection to one node (root, no database selected). */
  connect(node: number, database?: string): Promise<Connection>;
  /** Stops every node and removes the directory. */
  stop(): Promise<void>;
}

export interface ClusterDatabase {
  name: string;
  url(node: number): string;
  /** The database as test/support/app.ts takes it, reached through `node`; dropping it drops it cluster-wide. */
  on(node: number): TestDatabase;
  drop(): Promise<void>;
}

/** The directory of a cluster that the test process `owner` started on `ports`. */
interface ClusterMark {
  owner: number;
  ports: number[];
}

const MARK_FILE = 'gatehouse-cluster.json';

/**
 * A cluster left behind by a test process that died before its afterAll (a killed Jest run) still
 * runs and holds its ports: stop it. Clusters whose owner is alive belong to a run in progress and
 * are left alone.
 */
function stopAbandonedClusters(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith('gatehouse-galera.')) continue;
    const dir = join(tmpdir(), entry);
    const markFile = join(dir, MARK_FILE);
    if (!existsSync(markFile)) continue;
    const mark = JSON.parse(readFileSync(markFile, 'utf8')) as ClusterMark;
    if (processAlive(mark.owner)) continue;
    execFileSync('bash', [SCRIPT, 'stop', dir], { stdio: 'ignore' });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `count` distinct free ports on 127.0.0.1 (see freePort). */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * Starts a 3-node MariaDB Galera cluster on 127.0.0.1 (test/support/galera-cluster.sh): its own
 * temporary data directories and free ports (GALERA_PORT_BASE=n takes n, n+1, ... by the script's
 * layout instead), never the system server. Resolves once every node is Synced in a cluster of
 * three. Call `stop()` in afterAll; a cluster whose test process died is stopped by the next start.
 */
export async function startGaleraCluster(): Promise<GaleraCluster> {
  stopAbandonedClusters();
  const base = process.env.GALERA_PORT_BASE ? Number(process.env.GALERA_PORT_BASE) : undefined;
  const allPorts =
    base === undefined
      ? await freePorts(GALERA_NODES * PORTS_PER_NODE)
      : Array.from({ length: GALERA_NODES * PORTS_PER_NODE }, (_, i) => base + 10 * Math.floor(i / PORTS_PER_NODE) + (i % PORTS_PER_NODE));
  const dir = join(tmpdir(), `gatehouse-galera.${randomBytes(4).toString('hex')}`);
  const started = Date.now();
  let stopped = false;
  const stopSync = () => {
    if (!stopped) execFileSync('bash', [SCRIPT, 'stop', dir], { stdio: 'ignore' });
    stopped = true;
  };
  try {
    // The mark first: if this process dies during the start, the next run cleans up.
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, MARK_FILE), JSON.stringify({ owner: process.pid, ports: allPorts } satisfies ClusterMark));
    await promisify(execFile)('bash', [SCRIPT, 'start', dir, allPorts.join(',')], { timeout: 180_000 });
  } catch (error) {
    stopSync();
    const { stderr } = error as { stderr?: string };
    throw new Error(`The Galera cluster did not start: ${stderr || (error as Error).message}`);
  }
  const startMs = Date.now() - started;
  // Whatever happens to the test run, the nodes do not outlive it.
  process.once('exit', stopSync);

  const ports = Array.from({ length: GALERA_NODES }, (_, i) => allPorts[PORTS_PER_NODE * i]);
  const connect = (node: number, database?: string) =>
    createConnection({ host: '127.0.0.1', port: ports[node], user: 'root', password: '', database, supportBigNumbers: true });

  return {
    dir,
    ports,
    startMs,
    connect,
    async createDatabase() {
      const name = `gh_galera_${process.pid}_${randomBytes(4).toString('hex')}`;
      const admin = await connect(0);
      // DDL replicates in total order: once it returns here, every node has the database.
      await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      await admin.end();
      const url = (node: number) => `mysql://root@127.0.0.1:${ports[node]}/${name}`;
      const drop = async () => {
        if (stopped) return;
        const c = await connect(0);
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await c.end();
      };
      return { name, url, drop, on: (node: number) => ({ url: url(node), drop }) };
    },
    async stop() {
      process.removeListener('exit', stopSync);
      if (stopped) return;
      stopped = true;
      await promisify(execFile)('bash', [SCRIPT, 'stop', dir]);
    },
  };
}

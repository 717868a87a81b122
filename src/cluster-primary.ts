import cluster, { type Worker } from 'node:cluster';
import type { AppConfig } from './config/app-config';
import { processLogger } from './logging/process-logger';
import { serveClusterMetrics } from './metrics/cluster-metrics';

/** Beyond each worker's own SHUTDOWN_TIMEOUT_MS, before the primary kills a worker that is still there. */
const SHUTDOWN_MARGIN_MS = 5_000;

/**
 * The primary process of CLUSTER_WORKERS=N (SPEC §1). It serves nothing itself: it starts N
 * workers, replaces one that dies after it has served, stops when a worker fails to start (a
 * configuration or database problem that another attempt would repeat), and on SIGTERM/SIGINT
 * lets every worker finish its requests and exits 0.
 */
export function runClusterPrimary(config: AppConfig): void {
  const workers = config.clusterWorkers;
  const logger = processLogger(config.logLevel, 'Gatehouse');
  serveClusterMetrics();
  const served = new Set<number>();
  let stopping = false;

  const alive = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
  const stop = (exitCode: number) => {
    stopping = true;
    process.exitCode = exitCode;
    // Each worker closes its server and database gracefully (Nest shutdown hooks); the primary
    // exits once they have all gone, and with no worker left its event loop is empty.
    for (const worker of alive()) worker.process.kill('SIGTERM');
    // A worker stuck in its shutdown does not hold the primary forever (unref: no wait when all are gone).
    setTimeout(() => {
      for (const worker of alive()) worker.process.kill('SIGKILL');
    }, config.shutdownTimeoutMs + SHUTDOWN_MARGIN_MS).unref();
  };

  cluster.on('listening', (worker) => served.add(worker.id));
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (!served.has(worker.id)) {
      logger.error(`Worker ${worker.process.pid} failed to start (exited with ${how}); stopping`);
      stop(code || 1);
      return;
    }
    logger.error(`Worker ${worker.process.pid} exited with ${how}; starting a new one`);
    cluster.fork();
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop(0));

  // The first worker runs the migrations and creates the keys before the others start.
  const first = cluster.fork();
  first.once('listening', () => {
    for (let i = 1; i < workers && !stopping; i++) cluster.fork();
  });
}

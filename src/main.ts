// First: sizes the libuv thread pool before anything can start it (see thread-pool.ts).
import './thread-pool';
import cluster from 'node:cluster';
import { Logger } from '@nestjs/common';
import { adminSecretBox } from './cli/admin-secret-notice';
import { createApp } from './app.factory';
import { BootstrapService } from './bootstrap.service';
import { AppConfig, loadConfig } from './config/app-config';
import { runClusterPrimary } from './cluster-primary';
import { startupFailure } from './startup-failure';

function fail(error: unknown, config?: AppConfig): never {
  process.stderr.write(`${startupFailure(error, config)}\n`);
  process.exit(1);
}

async function serve(config: AppConfig): Promise<void> {
  const app = await createApp(config);
  const logger = new Logger('Gatehouse');
  // SIGTERM (an orchestrator, the cluster primary) or SIGINT: stop accepting connections, let the
  // requests in flight finish, run the shutdown hooks (which flush what is batched and close the
  // database), exit 0. A shutdown stuck longer than SHUTDOWN_TIMEOUT_MS exits 1.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.log(`${signal} received: finishing requests in flight, then exiting`);
      setTimeout(() => {
        logger.error(`Shutdown took longer than ${config.shutdownTimeoutMs} ms; exiting`);
        process.exit(1);
      }, config.shutdownTimeoutMs).unref();
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error(`Shutdown failed: ${String((error as Error)?.message ?? error)}`);
          process.exit(1);
        },
      );
    });
  }
  await app.listen({ port: config.port, host: '0.0.0.0' });
  logger.log(`Listening on port ${config.port} (issuer ${config.issuer})`);
  // Last, after "Listening", so it is the one thing left on screen; on stderr, whatever LOG_LEVEL says.
  const generated = app.get(BootstrapService).takeGeneratedAdminSecret();
  if (generated) {
    process.stderr.write(adminSecretBox({ headline: 'Gatehouse created the bootstrap admin client.', ...generated, issuer: config.issuer }));
  }
}

async function main(): Promise<void> {
  let config: AppConfig | undefined;
  try {
    config = loadConfig();
    if (config.clusterWorkers > 1 && cluster.isPrimary) {
      // Every instance is stateless, so workers need no coordination beyond the shared database.
      runClusterPrimary(config);
      return;
    }
    await serve(config);
  } catch (error) {
    fail(error, config);
  }
}

void main();

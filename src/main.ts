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
  await app.listen({ port: config.port, host: '0.0.0.0' });
  new Logger('Gatehouse').log(`Listening on port ${config.port} (issuer ${config.issuer})`);
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

import cluster from 'node:cluster';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { AppConfig, ConfigError, loadConfig } from './config/app-config';
import { runClusterPrimary } from './cluster-primary';

function readConfig(): AppConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      // One clear line naming the variable, and no stack trace.
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function serve(config: AppConfig): Promise<void> {
  const app = await createApp(config);
  await app.listen({ port: config.port, host: '0.0.0.0' });
  new Logger('Gatehouse').log(`Listening on port ${config.port} (issuer ${config.issuer})`);
}

async function main(): Promise<void> {
  const config = readConfig();
  if (config.clusterWorkers > 1 && cluster.isPrimary) {
    // Every instance is stateless, so workers need no coordination beyond the shared database.
    runClusterPrimary(config.clusterWorkers);
    return;
  }
  await serve(config);
}

main().catch((error) => {
  new Logger('Gatehouse').error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});

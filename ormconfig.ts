// The DataSource used by the TypeORM CLI (`npm run migration:generate -- src/database/migrations/Name`,
// `npm run migration:run`). It reads DATABASE_URL exactly as the service does.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/app-config';
import { dataSourceOptions } from './src/database/data-source-options';

export default new DataSource({ ...dataSourceOptions(loadConfig().databaseUrl), migrationsRun: false });

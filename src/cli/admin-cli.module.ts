import { DynamicModule, Module } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { AuditModule } from '../audit/audit.module';
import { ClientsModule } from '../clients/clients.module';
import { AppConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { DatabaseModule } from '../database/database.module';
import { KeysModule } from '../keys/keys.module';
import { UsersModule } from '../users/users.module';

/**
 * The admin CLI's application context: the same modules and services the admin API uses, without
 * HTTP and without the start-up work of the service (no bootstrap admin client, no purge timer).
 */
@Module({})
export class AdminCliModule {
  static forRoot(config: AppConfig, dataSource: DataSource): DynamicModule {
    return {
      module: AdminCliModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot(dataSource), AuditModule, ClientsModule, UsersModule, KeysModule],
    };
  }
}

import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { DestinationStream } from 'pino';
import type { DataSource } from 'typeorm';
import { AdminGuard } from './admin/admin.guard';
import { AdminModule } from './admin/admin.module';
import { AuditModule } from './audit/audit.module';
import { AuthorizeModule } from './authorize/authorize.module';
import { BackchannelModule } from './backchannel/backchannel.module';
import { ClientAuthModule } from './client-auth/client-auth.module';
import { ClientsModule } from './clients/clients.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { CorsModule } from './cors/cors.module';
import { DatabaseModule } from './database/database.module';
import { DiscoveryController } from './discovery/discovery.controller';
import { GrantsModule } from './grants/grants.module';
import { HealthModule } from './health/health.module';
import { KeysModule } from './keys/keys.module';
import { LoggingModule } from './logging/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { PolicyModule } from './policy/policy.module';
import { PurgeModule } from './purge/purge.module';
import { SessionsModule } from './sessions/sessions.module';
import { TokensModule } from './tokens/tokens.module';
import { UserInfoModule } from './userinfo/userinfo.module';
import { TokenManagementModule } from './token-management/token-management.module';
import { UsersModule } from './users/users.module';
import { BootstrapService } from './bootstrap.service';

/** What the application is built around: the database opened (and migrated) by openDatabase, and where logs go. */
export interface AppRuntime {
  dataSource: DataSource;
  /** JSON log lines go here instead of stdout (tests capture them). */
  logStream?: DestinationStream;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, runtime: AppRuntime): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config.logLevel, runtime.logStream),
        DatabaseModule.forRoot(runtime.dataSource),
        AuditModule,
        KeysModule,
        SessionsModule,
        TokensModule,
        PolicyModule,
        UsersModule,
        ClientsModule,
        ClientAuthModule,
        GrantsModule,
        UserInfoModule,
        TokenManagementModule,
        AuthorizeModule,
        BackchannelModule,
        CorsModule,
        AdminModule,
        HealthModule,
        MetricsModule,
        PurgeModule,
      ],
      controllers: [DiscoveryController],
      // The admin API's one guard, global; registered here, where the tokens and clients it checks
      // with are both in reach, so that the admin folder depends on neither module.
      providers: [BootstrapService, { provide: APP_GUARD, useClass: AdminGuard }],
    };
  }
}

import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { KeysModule } from '../keys/keys.module';
import { AdminAuditController } from './admin-audit.controller';
import { AdminKeysController } from './admin-keys.controller';

/** Admin endpoints that belong to no single feature module (keys, audit). */
@Module({
  imports: [AuditModule, KeysModule],
  controllers: [AdminKeysController, AdminAuditController],
})
export class AdminModule {}

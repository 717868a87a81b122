import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ADMIN_CLIENTS } from '../admin/admin-clients';
import { AuditModule } from '../audit/audit.module';
import { KeysModule } from '../keys/keys.module';
import { SessionsModule } from '../sessions/sessions.module';
import { TokensModule } from '../tokens/tokens.module';
import { AdminClientsController } from './admin-clients.controller';
import { Client } from './client.entity';
import { ClientSecretSealer } from './client-secret-sealer';
import { ClientsService } from './clients.service';

/** The client registry (RFC 7591 metadata) and its admin API. Client authentication is the ClientAuth module's. */
@Module({
  imports: [TypeOrmModule.forFeature([Client]), AuditModule, KeysModule, SessionsModule, TokensModule],
  controllers: [AdminClientsController],
  providers: [ClientsService, { provide: ADMIN_CLIENTS, useExisting: ClientsService }, ClientSecretSealer],
  exports: [ClientsService, ADMIN_CLIENTS, ClientSecretSealer],
})
export class ClientsModule {}

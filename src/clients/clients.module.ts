import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { TokensModule } from '../tokens/tokens.module';
import { AdminClientsController } from './admin-clients.controller';
import { Client } from './client.entity';
import { ClientsService } from './clients.service';
import { ClientAuthGuard } from './auth/client-auth.guard';
import { CLIENT_AUTHENTICATORS } from './auth/client-authenticator';
import { ClientSecretBasicAuthenticator } from './auth/client-secret-basic.authenticator';
import { ClientSecretPostAuthenticator } from './auth/client-secret-post.authenticator';
import { NoneAuthenticator } from './auth/none.authenticator';

const AUTHENTICATORS = [ClientSecretBasicAuthenticator, ClientSecretPostAuthenticator, NoneAuthenticator];

@Module({
  imports: [TypeOrmModule.forFeature([Client]), AuditModule, TokensModule],
  controllers: [AdminClientsController],
  providers: [
    ClientsService,
    ...AUTHENTICATORS,
    { provide: CLIENT_AUTHENTICATORS, useFactory: (...authenticators) => authenticators, inject: AUTHENTICATORS },
    ClientAuthGuard,
  ],
  exports: [ClientsService, ClientAuthGuard, CLIENT_AUTHENTICATORS],
})
export class ClientsModule {}

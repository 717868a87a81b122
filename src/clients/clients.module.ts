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
import { ClientAssertionVerifier } from './auth/client-assertion.verifier';
import { ClientAuthGuard } from './auth/client-auth.guard';
import { CLIENT_AUTHENTICATORS } from './auth/client-authenticator';
import { ClientCertificates } from './auth/client-certificates';
import { ClientSecretBasicAuthenticator } from './auth/client-secret-basic.authenticator';
import { ClientSecretJwtAuthenticator } from './auth/client-secret-jwt.authenticator';
import { ClientSecretPostAuthenticator } from './auth/client-secret-post.authenticator';
import { JwksUriFetcher } from './auth/jwks-uri.fetcher';
import { NoneAuthenticator } from './auth/none.authenticator';
import { PrivateKeyJwtAuthenticator } from './auth/private-key-jwt.authenticator';
import { SelfSignedTlsClientAuthAuthenticator } from './auth/self-signed-tls-client-auth.authenticator';
import { TlsClientAuthAuthenticator } from './auth/tls-client-auth.authenticator';

/** In the order the guard tries them when several match: `none` last, after the certificate methods. */
const AUTHENTICATORS = [
  ClientSecretBasicAuthenticator,
  ClientSecretPostAuthenticator,
  ClientSecretJwtAuthenticator,
  PrivateKeyJwtAuthenticator,
  TlsClientAuthAuthenticator,
  SelfSignedTlsClientAuthAuthenticator,
  NoneAuthenticator,
];

@Module({
  imports: [TypeOrmModule.forFeature([Client]), AuditModule, KeysModule, SessionsModule, TokensModule],
  controllers: [AdminClientsController],
  providers: [
    ClientsService,
    { provide: ADMIN_CLIENTS, useExisting: ClientsService },
    ClientSecretSealer,
    ClientAssertionVerifier,
    ClientCertificates,
    JwksUriFetcher,
    ...AUTHENTICATORS,
    { provide: CLIENT_AUTHENTICATORS, useFactory: (...authenticators) => authenticators, inject: AUTHENTICATORS },
    ClientAuthGuard,
  ],
  exports: [ClientsService, ADMIN_CLIENTS, ClientAuthGuard, CLIENT_AUTHENTICATORS],
})
export class ClientsModule {}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { PolicyModule } from '../policy/policy.module';
import { ClientsModule } from '../clients/clients.module';
import { TokensModule } from '../tokens/tokens.module';
import { AdminClientLockoutController } from './admin-client-lockout.controller';
import { ClientAssertionVerifier } from './client-assertion.verifier';
import { ClientAuthAttempts } from './client-auth-attempts.service';
import { ClientAuthFailureCount } from './client-auth-failure-count.entity';
import { ClientAuthFailuresService } from './client-auth-failures.service';
import { ClientAuthentication } from './client-authentication';
import { ClientAuthStrategies } from './client-auth-strategies';
import { ClientCertificates } from './client-certificates';
import { ClientSecretBasicAuthenticator } from './client-secret-basic.authenticator';
import { ClientSecretJwtAuthenticator } from './client-secret-jwt.authenticator';
import { ClientSecretPostAuthenticator } from './client-secret-post.authenticator';
import { JwksUriFetcher } from './jwks-uri.fetcher';
import { NoneAuthenticator } from './none.authenticator';
import { PrivateKeyJwtAuthenticator } from './private-key-jwt.authenticator';
import { SelfSignedTlsClientAuthAuthenticator } from './self-signed-tls-client-auth.authenticator';
import { TlsClientAuthAuthenticator } from './tls-client-auth.authenticator';

/** One passport strategy per method (ClientAuthentication tries them in CLIENT_AUTH_STRATEGY_ORDER). */
const STRATEGIES = [
  ClientSecretBasicAuthenticator,
  ClientSecretPostAuthenticator,
  ClientSecretJwtAuthenticator,
  PrivateKeyJwtAuthenticator,
  TlsClientAuthAuthenticator,
  SelfSignedTlsClientAuthAuthenticator,
  NoneAuthenticator,
];

/**
 * Client authentication at the token, introspection and revocation endpoints (SPEC §3.2): one
 * passport strategy per token_endpoint_auth_method and the AuthGuard that runs them, the failure
 * counts (client_auth_failures: per-address throttling and the opt-in client lockout) with their
 * admin unlock, and the audit of every failure. It looks clients up in the Clients module (which
 * knows nothing of it), spends assertion jtis in the replay cache of the Tokens module and reads
 * the lockout settings from the Policy module.
 */
@Module({
  imports: [TypeOrmModule.forFeature([ClientAuthFailureCount]), ClientsModule, TokensModule, PolicyModule, AuditModule],
  controllers: [AdminClientLockoutController],
  providers: [
    ClientAuthFailuresService,
    ClientAuthAttempts,
    ClientAssertionVerifier,
    ClientCertificates,
    JwksUriFetcher,
    ClientAuthStrategies,
    ...STRATEGIES,
    ClientAuthentication,
  ],
  exports: [ClientAuthentication, ClientAuthStrategies, ClientAuthAttempts, ClientAuthFailuresService],
})
export class ClientAuthModule {}

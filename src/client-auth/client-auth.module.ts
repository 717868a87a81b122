import { Module } from '@nestjs/common';
import { ClientsModule } from '../clients/clients.module';
import { TokensModule } from '../tokens/tokens.module';
import { ClientAssertionVerifier } from './client-assertion.verifier';
import { ClientAuthGuard } from './client-auth.guard';
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

/** One passport strategy per method (the guard tries them in CLIENT_AUTH_STRATEGY_ORDER). */
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
 * authenticator per token_endpoint_auth_method and the guard that picks the one presented. It
 * looks clients up in the Clients module (which knows nothing of it) and spends assertion jtis in
 * the replay cache of the Tokens module.
 */
@Module({
  imports: [ClientsModule, TokensModule],
  providers: [
    ClientAssertionVerifier,
    ClientCertificates,
    JwksUriFetcher,
    ClientAuthStrategies,
    ...STRATEGIES,
    ClientAuthGuard,
  ],
  exports: [ClientAuthGuard, ClientAuthStrategies],
})
export class ClientAuthModule {}

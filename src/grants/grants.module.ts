import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ClientsModule } from '../clients/clients.module';
import { KeysModule } from '../keys/keys.module';
import { PolicyModule } from '../policy/policy.module';
import { TokensModule } from '../tokens/tokens.module';
import { UsersModule } from '../users/users.module';
import { AuthorizationCodeGrant } from './authorization-code.grant';
import { ClientCredentialsGrant } from './client-credentials.grant';
import { GRANT_HANDLERS } from './grant-handler';
import { GrantRegistry } from './grant-registry';
import { LoginTokenIssuer } from './login-token.issuer';
import { PasswordGrant } from './password.grant';
import { RefreshTokenGrant } from './refresh-token.grant';
import { TokenController } from './token.controller';

/** One provider per grant_type; add a handler here and to HANDLERS to support a new grant. */
const HANDLERS = [ClientCredentialsGrant, PasswordGrant, AuthorizationCodeGrant, RefreshTokenGrant];

@Module({
  imports: [AuditModule, ClientsModule, KeysModule, PolicyModule, TokensModule, UsersModule],
  controllers: [TokenController],
  providers: [...HANDLERS, { provide: GRANT_HANDLERS, useFactory: (...handlers) => handlers, inject: HANDLERS }, GrantRegistry, LoginTokenIssuer],
  exports: [GrantRegistry, LoginTokenIssuer],
})
export class GrantsModule {}

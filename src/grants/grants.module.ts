import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ClientAuthModule } from '../client-auth/client-auth.module';
import { KeysModule } from '../keys/keys.module';
import { PolicyModule } from '../policy/policy.module';
import { SessionsModule } from '../sessions/sessions.module';
import { TokensModule } from '../tokens/tokens.module';
import { UsersModule } from '../users/users.module';
import { GRANT_HANDLERS, GrantRegistry } from './grant-registry';
import { GRANTS } from './grants';
import { LoginTokenIssuer } from './login-token.issuer';
import { TokenController } from './token.controller';

@Module({
  imports: [AuditModule, ClientAuthModule, KeysModule, PolicyModule, SessionsModule, TokensModule, UsersModule],
  controllers: [TokenController],
  providers: [...GRANTS, { provide: GRANT_HANDLERS, useFactory: (...handlers: unknown[]) => handlers, inject: [...GRANTS] }, GrantRegistry, LoginTokenIssuer],
  exports: [GrantRegistry, LoginTokenIssuer],
})
export class GrantsModule {}

import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ClientAuthModule } from '../client-auth/client-auth.module';
import { ClientsModule } from '../clients/clients.module';
import { PolicyModule } from '../policy/policy.module';
import { SessionsModule } from '../sessions/sessions.module';
import { TokensModule } from '../tokens/tokens.module';
import { UsersModule } from '../users/users.module';
import { IntrospectionController } from './introspection.controller';
import { IntrospectionService } from './introspection.service';
import { RevocationController } from './revocation.controller';
import { RevocationService } from './revocation.service';

/**
 * The client-authenticated endpoints that manage tokens after issue: introspection (RFC 7662) and
 * revocation (RFC 7009). Apart from TokensModule because username lookups need UsersModule, which
 * itself depends on TokensModule.
 */
@Module({
  imports: [AuditModule, ClientAuthModule, ClientsModule, PolicyModule, SessionsModule, TokensModule, UsersModule],
  controllers: [IntrospectionController, RevocationController],
  providers: [IntrospectionService, RevocationService],
})
export class TokenManagementModule {}

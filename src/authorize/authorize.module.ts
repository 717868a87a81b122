import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ClientsModule } from '../clients/clients.module';
import { KeysModule } from '../keys/keys.module';
import { TokensModule } from '../tokens/tokens.module';
import { UsersModule } from '../users/users.module';
import { AuthorizationRequestValidator } from './authorization-request';
import { AuthorizeController } from './authorize.controller';
import { AuthorizeService } from './authorize.service';
import { LoginFormProtection } from './login-form-protection';

/** The authorization endpoint and its hosted login page (SPEC §5); codes are redeemed by the Grants module. */
@Module({
  imports: [AuditModule, ClientsModule, KeysModule, TokensModule, UsersModule],
  controllers: [AuthorizeController],
  providers: [AuthorizeService, AuthorizationRequestValidator, LoginFormProtection],
})
export class AuthorizeModule {}

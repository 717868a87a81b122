import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ClientsModule } from '../clients/clients.module';
import { KeysModule } from '../keys/keys.module';
import { PolicyModule } from '../policy/policy.module';
import { SessionsModule } from '../sessions/sessions.module';
import { TokensModule } from '../tokens/tokens.module';
import { UsersModule } from '../users/users.module';
import { AuthorizationRequestValidator } from './authorization-request';
import { AuthorizeController } from './authorize.controller';
import { AuthorizeService } from './authorize.service';
import { LoginFormProtection } from './login-form-protection';
import { LogoutController } from './logout.controller';
import { LogoutService } from './logout.service';
import { SsoCookie } from './sso-cookie';

/** The authorization endpoint, its hosted login page and single sign-on, and the end-session endpoint (SPEC §5); codes are redeemed by the Grants module. */
@Module({
  imports: [AuditModule, ClientsModule, KeysModule, PolicyModule, SessionsModule, TokensModule, UsersModule],
  controllers: [AuthorizeController, LogoutController],
  providers: [AuthorizeService, AuthorizationRequestValidator, LoginFormProtection, SsoCookie, LogoutService],
})
export class AuthorizeModule {}

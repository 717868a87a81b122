import { Module } from '@nestjs/common';
import { ClientsModule } from '../clients/clients.module';
import { PolicyModule } from '../policy/policy.module';
import { TokensModule } from '../tokens/tokens.module';
import { UsersModule } from '../users/users.module';
import { UserInfoController } from './userinfo.controller';
import { UserInfoService } from './userinfo.service';

/** OIDC UserInfo at /oauth2/userinfo (alias /oidc/me), SPEC §4. */
@Module({
  imports: [TokensModule, UsersModule, ClientsModule, PolicyModule],
  controllers: [UserInfoController],
  providers: [UserInfoService],
})
export class UserInfoModule {}

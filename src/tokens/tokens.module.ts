import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { KeysModule } from '../keys/keys.module';
import { SessionsModule } from '../sessions/sessions.module';
import { AccessToken } from './access-token.entity';
import { AccessTokensService } from './access-tokens.service';
import { AuthorizationCode } from './authorization-code.entity';
import { AuthorizationCodesService } from './authorization-codes.service';
import { IdTokensService } from './id-tokens.service';
import { RefreshToken } from './refresh-token.entity';
import { RefreshTokensService } from './refresh-tokens.service';
import { ReplayCacheService } from './replay-cache.service';
import { UsedJti } from './used-jti.entity';

/** Codes and tokens: one service per table (access_tokens, refresh_tokens, authorization_codes, used_jtis), and id_tokens, which are not stored. */
@Module({
  imports: [TypeOrmModule.forFeature([AccessToken, RefreshToken, AuthorizationCode, UsedJti]), KeysModule, SessionsModule],
  providers: [AccessTokensService, IdTokensService, RefreshTokensService, AuthorizationCodesService, ReplayCacheService],
  exports: [AccessTokensService, IdTokensService, RefreshTokensService, AuthorizationCodesService, ReplayCacheService],
})
export class TokensModule {}

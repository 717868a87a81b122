import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { KeysModule } from '../keys/keys.module';
import { AccessToken } from './access-token.entity';
import { AuthorizationCode } from './authorization-code.entity';
import { AuthorizationCodesService } from './authorization-codes.service';
import { BearerTokenGuard } from './bearer-token.guard';
import { PurgeService } from './purge.service';
import { RefreshTokensService } from './refresh-tokens.service';
import { ReplayCacheService } from './replay-cache.service';
import { RefreshToken } from './refresh-token.entity';
import { TokenFamily } from './token-family.entity';
import { TokensService } from './tokens.service';
import { UsedJti } from './used-jti.entity';

@Module({
  imports: [TypeOrmModule.forFeature([AccessToken, RefreshToken, TokenFamily, AuthorizationCode, UsedJti]), KeysModule],
  providers: [TokensService, BearerTokenGuard, RefreshTokensService, PurgeService, AuthorizationCodesService, ReplayCacheService],
  exports: [TokensService, BearerTokenGuard, KeysModule, RefreshTokensService, PurgeService, AuthorizationCodesService, ReplayCacheService],
})
export class TokensModule {}

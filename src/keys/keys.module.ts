import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { JwksController } from './jwks.controller';
import { KeysService } from './keys.service';
import { PasswordKeysController } from './password-keys.controller';
import { PasswordKeysService } from './password-keys.service';
import { ServerSecretsService } from './server-secrets.service';
import { StoredKey } from './signing-key.entity';
import { StoredKeysService } from './stored-keys.service';

@Module({
  imports: [TypeOrmModule.forFeature([StoredKey])],
  controllers: [JwksController, PasswordKeysController],
  providers: [StoredKeysService, KeysService, ServerSecretsService, PasswordKeysService],
  exports: [KeysService, ServerSecretsService, PasswordKeysService],
})
export class KeysModule {}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { JwksController } from './jwks.controller';
import { KeysService } from './keys.service';
import { ServerSecretsService } from './server-secrets.service';
import { StoredKey } from './signing-key.entity';

@Module({
  imports: [TypeOrmModule.forFeature([StoredKey])],
  controllers: [JwksController],
  providers: [KeysService, ServerSecretsService],
  exports: [KeysService, ServerSecretsService],
})
export class KeysModule {}

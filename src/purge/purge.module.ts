import { Module } from '@nestjs/common';
import { ClientAuthModule } from '../client-auth/client-auth.module';
import { PolicyModule } from '../policy/policy.module';
import { SessionsModule } from '../sessions/sessions.module';
import { TokensModule } from '../tokens/tokens.module';
import { PurgeService } from './purge.service';

/** The timer that clears expired rows; each table's own service deletes them. */
@Module({
  imports: [ClientAuthModule, PolicyModule, SessionsModule, TokensModule],
  providers: [PurgeService],
})
export class PurgeModule {}

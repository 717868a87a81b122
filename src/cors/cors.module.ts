import { Module } from '@nestjs/common';
import { ClientsModule } from '../clients/clients.module';
import { CorsService } from './cors.service';
import { PreflightController } from './preflight.controller';

/**
 * CORS for browser apps (SPEC §4): the preflight route of the endpoints with CORS, and the service
 * whose headers app.factory.ts adds to their responses. The origins are the Clients module's.
 */
@Module({
  imports: [ClientsModule],
  controllers: [PreflightController],
  providers: [CorsService],
  exports: [CorsService],
})
export class CorsModule {}

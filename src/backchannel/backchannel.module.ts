import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ClientsModule } from '../clients/clients.module';
import { KeysModule } from '../keys/keys.module';
import { SessionsModule } from '../sessions/sessions.module';
import { BackchannelLogoutService } from './backchannel-logout.service';

/** Back-channel logout delivery (OIDC Back-Channel Logout 1.0): the queue is the Sessions module's, the receivers are the clients'. */
@Module({
  imports: [AuditModule, ClientsModule, KeysModule, SessionsModule],
  providers: [BackchannelLogoutService],
  exports: [BackchannelLogoutService],
})
export class BackchannelModule {}

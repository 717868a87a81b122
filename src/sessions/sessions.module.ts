import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BrowserSession, BrowserSessionClient } from './browser-session.entity';
import { BrowserSessionsService } from './browser-sessions.service';
import { LogoutNotification } from './logout-notification.entity';
import { LogoutNotificationsService } from './logout-notifications.service';
import { TokenFamiliesService } from './token-families.service';
import { TokenFamily } from './token-family.entity';

/**
 * Login sessions: the token families of SPEC §3.5 (one per login of a user at a client), the browser
 * single sign-on sessions of SPEC §5 and the queue of back-channel logouts their end causes, so that
 * ending a user's sessions ends both kinds.
 */
@Module({
  imports: [TypeOrmModule.forFeature([TokenFamily, BrowserSession, BrowserSessionClient, LogoutNotification])],
  providers: [TokenFamiliesService, BrowserSessionsService, LogoutNotificationsService],
  exports: [TokenFamiliesService, BrowserSessionsService, LogoutNotificationsService],
})
export class SessionsModule {}

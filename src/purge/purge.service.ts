import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ClientAuthFailuresService } from '../client-auth/client-auth-failures.service';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { LoginThrottleService } from '../policy/login-throttle.service';
import { PolicyService } from '../policy/policy.service';
import { BrowserSessionsService } from '../sessions/browser-sessions.service';
import { LogoutNotificationsService } from '../sessions/logout-notifications.service';
import { TokenFamiliesService } from '../sessions/token-families.service';
import { AccessTokensService } from '../tokens/access-tokens.service';
import { AuthorizationCodesService } from '../tokens/authorization-codes.service';
import { RefreshTokensService } from '../tokens/refresh-tokens.service';
import { ReplayCacheService } from '../tokens/replay-cache.service';

/**
 * Rows are kept a little past their expiry, so that instances whose clocks differ slightly never
 * purge a row another instance still honours (a replay-cache entry, a code being redeemed).
 */
export const ROW_PURGE_MARGIN_MS = 5 * 60_000;

/**
 * A family is kept a day past its last refresh token: JWT access tokens carry its id (`sid`) and
 * are refused once it is gone, and the admin API caps access and id token lifetimes at 24 hours.
 */
export const FAMILY_PURGE_MARGIN_MS = 24 * 3600_000 + ROW_PURGE_MARGIN_MS;

/** Delivered and given-up back-channel logouts are kept a day, for an administrator looking into one. */
export const LOGOUT_NOTIFICATION_KEEP_MS = 24 * 3600_000;

export interface PurgeCounts {
  refreshTokens: number;
  accessTokens: number;
  authorizationCodes: number;
  usedJtis: number;
  tokenFamilies: number;
  loginThrottle: number;
  clientAuthFailures: number;
  browserSessions: number;
  logoutNotifications: number;
}

/**
 * Deletes expired codes, tokens, replay-cache rows, families, throttle windows, client failure
 * counts, browser sessions and finished back-channel logouts, every
 * PURGE_INTERVAL_SECONDS (0 turns the timer off), by asking the service that owns each table. Each
 * run is a few indexed DELETEs and is idempotent, so every instance may run it.
 */
@Injectable()
export class PurgeService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PurgeService.name);
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly refreshTokens: RefreshTokensService,
    private readonly accessTokens: AccessTokensService,
    private readonly codes: AuthorizationCodesService,
    private readonly replayCache: ReplayCacheService,
    private readonly families: TokenFamiliesService,
    private readonly throttle: LoginThrottleService,
    private readonly clientAuthFailures: ClientAuthFailuresService,
    private readonly policy: PolicyService,
    private readonly browserSessions: BrowserSessionsService,
    private readonly logoutNotifications: LogoutNotificationsService,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.purgeIntervalSeconds <= 0) return;
    this.timer = setInterval(() => void this.purgeInBackground(), this.config.purgeIntervalSeconds * 1000);
    // The timer must never keep the process alive on shutdown.
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async purgeExpired(): Promise<PurgeCounts> {
    const now = this.clock.nowMs();
    const rowsBefore = now - ROW_PURGE_MARGIN_MS;
    const counts: PurgeCounts = {
      refreshTokens: await this.refreshTokens.purgeExpired(rowsBefore),
      accessTokens: await this.accessTokens.purgeExpired(rowsBefore),
      authorizationCodes: await this.codes.purgeExpired(rowsBefore),
      usedJtis: await this.replayCache.purgeExpired(rowsBefore),
      tokenFamilies: await this.families.purgeExpired(now - FAMILY_PURGE_MARGIN_MS),
      loginThrottle: await this.throttle.purgeExpired(rowsBefore),
      clientAuthFailures: await this.clientAuthFailures.purgeExpired(rowsBefore),
      // A browser session cannot outlive the policy's maximum lifetime, counted from its start.
      browserSessions: await this.browserSessions.purgeExpired(rowsBefore - (await this.policy.ssoSessionLifetimes()).maxSeconds * 1000, rowsBefore),
      logoutNotifications: await this.logoutNotifications.purgeFinished(now - LOGOUT_NOTIFICATION_KEEP_MS),
    };
    this.logger.debug(`Purged expired rows: ${JSON.stringify(counts)}`);
    return counts;
  }

  private async purgeInBackground(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.purgeExpired();
    } catch (error) {
      this.logger.warn(`Purge of expired rows failed: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}

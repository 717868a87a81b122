import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource, type EntityTarget, type ObjectLiteral } from 'typeorm';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { LoginThrottle } from '../policy/login-throttle.entity';
import { AccessToken } from './access-token.entity';
import { AuthorizationCode } from './authorization-code.entity';
import { RefreshToken } from './refresh-token.entity';
import { TokenFamily } from './token-family.entity';
import { UsedJti } from './used-jti.entity';

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

export interface PurgeCounts {
  refreshTokens: number;
  accessTokens: number;
  authorizationCodes: number;
  usedJtis: number;
  tokenFamilies: number;
  loginThrottle: number;
}

/**
 * Deletes expired codes, tokens, replay-cache rows and families, every PURGE_INTERVAL_SECONDS (0 turns
 * the timer off). Each run is a few indexed DELETEs and is idempotent, so every instance may run it.
 */
@Injectable()
export class PurgeService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PurgeService.name);
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly dataSource: DataSource,
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
      refreshTokens: await this.deleteExpired(RefreshToken, rowsBefore),
      accessTokens: await this.deleteExpired(AccessToken, rowsBefore),
      authorizationCodes: await this.deleteExpired(AuthorizationCode, rowsBefore),
      usedJtis: await this.deleteExpired(UsedJti, rowsBefore),
      tokenFamilies: await this.deleteExpired(TokenFamily, now - FAMILY_PURGE_MARGIN_MS),
      loginThrottle: await this.deleteExpired(LoginThrottle, rowsBefore),
    };
    this.logger.debug(`Purged expired rows: ${JSON.stringify(counts)}`);
    return counts;
  }

  /** Every one of these tables has an index on expires_at (epoch milliseconds). */
  private async deleteExpired(entity: EntityTarget<ObjectLiteral>, beforeMs: number): Promise<number> {
    const result = await this.dataSource.createQueryBuilder().delete().from(entity).where('expires_at < :beforeMs', { beforeMs }).execute();
    return result.affected ?? 0;
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

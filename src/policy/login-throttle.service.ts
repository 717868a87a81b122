import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { sha256Hex } from '../common/crypto';
import { AppConfig } from '../config/app-config';
import { TooManyRequests } from '../oauth/errors';
import { LoginThrottle } from './login-throttle.entity';

const WINDOW_MS = 60_000;

/**
 * Per-IP throttling of failed password logins (token endpoint and login page alike): once an
 * address has had LOGIN_RATE_LIMIT failed logins ("Bad credentials": unknown user, wrong password)
 * within the current minute, further logins from it are refused before any account is looked up
 * or any password hashed, until the minute is over. The count lives in the database, so it holds
 * across instances; each failure is one atomic upsert.
 */
@Injectable()
export class LoginThrottleService {
  constructor(
    @InjectRepository(LoginThrottle) private readonly repo: Repository<LoginThrottle>,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** Throws 429 when `ip` has used up its failed logins of this minute. */
  async assertAllowed(ip: string | undefined): Promise<void> {
    if (!this.enabled(ip)) return;
    const { key, windowEnd } = this.window(ip);
    const row = await this.repo.findOne({ where: { keyHash: key }, select: { keyHash: true, failures: true } });
    if (row && row.failures >= this.config.loginRateLimit) {
      throw new TooManyRequests('Too many failed logins from this address. Try again later.', Math.ceil((windowEnd - this.clock.nowMs()) / 1000));
    }
  }

  /** Counts one failed login of `ip` in this minute. */
  async recordFailure(ip: string | undefined): Promise<void> {
    if (!this.enabled(ip)) return;
    const { key, windowEnd } = this.window(ip);
    const table = this.repo.metadata.tableName;
    const sql =
      this.repo.manager.connection.options.type === 'mysql'
        ? `INSERT INTO \`${table}\` (key_hash, failures, expires_at) VALUES (?, 1, ?) ON DUPLICATE KEY UPDATE failures = failures + 1`
        : `INSERT INTO "${table}" (key_hash, failures, expires_at) VALUES (?, 1, ?) ON CONFLICT (key_hash) DO UPDATE SET failures = failures + 1`;
    await this.repo.query(sql, [key, windowEnd]);
  }

  /** Deletes the windows that ended before `beforeMs` (each table the purge clears has an index on expires_at). */
  async purgeExpired(beforeMs: number): Promise<number> {
    const result = await this.repo.createQueryBuilder().delete().where('expires_at < :beforeMs', { beforeMs }).execute();
    return result.affected ?? 0;
  }

  private enabled(ip: string | undefined): ip is string {
    return this.config.loginRateLimit > 0 && !!ip;
  }

  private window(ip: string): { key: string; windowEnd: number } {
    const minute = Math.floor(this.clock.nowMs() / WINDOW_MS);
    return { key: sha256Hex(`login-failures:${ip}:${minute}`), windowEnd: (minute + 1) * WINDOW_MS };
  }
}

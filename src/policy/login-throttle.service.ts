import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { sha256Hex } from '../common/crypto';
import { AppConfig } from '../config/app-config';
import { SqlRunner } from '../database/sql-runner';
import { TooManyRequests } from '../oauth/errors';
import { addressBucket } from './address-bucket';
import { LoginThrottle } from './login-throttle.entity';

const WINDOW_MS = 60_000;

/** The counters of a login: one or two (LoginSource), so two constant statement texts. */
const READ_COUNTERS = [1, 2].map((n) => `SELECT key_hash, failures FROM login_throttle WHERE key_hash IN (${Array(n).fill('?').join(', ')})`);

/**
 * Who is at the keyboard of a password login, which decides what its failures count against
 * (SPEC §3.3):
 * - `end-user`: the hosted login page, or a public client at the token endpoint: the request comes
 *   from the end user's device, so it counts per address (LOGIN_RATE_LIMIT).
 * - `confidential-client`: a backend at the token endpoint logs in all of its users from one
 *   address, so it is never counted by that address. Its failures count per client
 *   (LOGIN_RATE_LIMIT_PER_CLIENT), and, when it is trusted to forward the end user's address
 *   (`trust_end_user_ip_header`) and did, per (client, that address) under LOGIN_RATE_LIMIT.
 */
export type LoginSource = { kind: 'end-user'; ip: string | undefined } | { kind: 'confidential-client'; clientId: string; endUserIp?: string };

/** One counter a failed login adds to, with the limit it is refused at. */
interface Bucket {
  keyHash: string;
  limit: number;
  message: string;
}

const FROM_ADDRESS = 'Too many failed logins from this address. Try again later.';
const FOR_CLIENT = 'Too many failed logins for this client. Try again later.';

/**
 * Throttling of failed password logins (token endpoint and login page alike): once a counter (see
 * LoginSource) has reached its limit of failed logins ("Bad credentials": unknown user, wrong
 * password) within the current minute, further logins that would count on it are refused before
 * any account is looked up or any password hashed, until the minute is over. The counts live in
 * the database, so they hold across instances; each failure is one atomic upsert.
 */
@Injectable()
export class LoginThrottleService {
  constructor(
    @InjectRepository(LoginThrottle) private readonly repo: Repository<LoginThrottle>,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly sql: SqlRunner,
  ) {}

  /** Throws 429 when any counter of `source` has used up its failed logins of this minute. */
  async assertAllowed(source: LoginSource): Promise<void> {
    const { buckets, windowEnd } = this.buckets(source);
    if (buckets.length === 0) return;
    const rows = await this.sql.all<{ key_hash: string; failures: number }>(
      READ_COUNTERS[buckets.length - 1],
      buckets.map((b) => b.keyHash),
    );
    const full = buckets.find((bucket) => rows.some((row) => row.key_hash === bucket.keyHash && Number(row.failures) >= bucket.limit));
    if (full) throw new TooManyRequests(full.message, Math.ceil((windowEnd - this.clock.nowMs()) / 1000));
  }

  /** Counts one failed login of `source` in this minute, on each of its counters, in one statement. */
  async recordFailure(source: LoginSource): Promise<void> {
    const { buckets, windowEnd } = this.buckets(source);
    if (buckets.length === 0) return;
    const table = this.repo.metadata.tableName;
    const values = buckets.map(() => '(?, 1, ?)').join(', ');
    const sql =
      this.repo.manager.connection.options.type === 'mysql'
        ? `INSERT INTO \`${table}\` (key_hash, failures, expires_at) VALUES ${values} ON DUPLICATE KEY UPDATE failures = failures + 1`
        : `INSERT INTO "${table}" (key_hash, failures, expires_at) VALUES ${values} ON CONFLICT (key_hash) DO UPDATE SET failures = failures + 1`;
    await this.repo.query(
      sql,
      buckets.flatMap((bucket) => [bucket.keyHash, windowEnd]),
    );
  }

  /** Deletes the windows that ended before `beforeMs` (each table the purge clears has an index on expires_at). */
  async purgeExpired(beforeMs: number): Promise<number> {
    const result = await this.repo.createQueryBuilder().delete().where('expires_at < :beforeMs', { beforeMs }).execute();
    return result.affected ?? 0;
  }

  /** The counters of `source` that are switched on, keyed by a digest (no address or client_id is stored) of the kind, the value and the minute. */
  private buckets(source: LoginSource): { buckets: Bucket[]; windowEnd: number } {
    const minute = Math.floor(this.clock.nowMs() / WINDOW_MS);
    const perAddress = this.config.loginRateLimit;
    const perClient = this.config.loginRateLimitPerClient;
    const bucket = (key: unknown[], limit: number, message: string): Bucket => ({ keyHash: sha256Hex(JSON.stringify(['login-failures', ...key, minute])), limit, message });
    const buckets: Bucket[] = [];
    if (source.kind === 'end-user') {
      const address = source.ip ? addressBucket(source.ip) : null;
      if (perAddress > 0 && address) buckets.push(bucket(['ip', address], perAddress, FROM_ADDRESS));
    } else {
      if (perClient > 0) buckets.push(bucket(['client', source.clientId], perClient, FOR_CLIENT));
      const address = source.endUserIp ? addressBucket(source.endUserIp) : null;
      if (perAddress > 0 && address) buckets.push(bucket(['client-ip', source.clientId, address], perAddress, FROM_ADDRESS));
    }
    return { buckets, windowEnd: (minute + 1) * WINDOW_MS };
  }
}

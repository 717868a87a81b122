import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { sha256Hex } from '../common/crypto';
import { isUniqueViolation } from '../database/errors';
import { SqlRunner } from '../database/sql-runner';
import { UsedJti } from './used-jti.entity';

const HAS = 'SELECT 1 AS found FROM used_jtis WHERE key_hash = ?';

/**
 * The used_jtis table as a replay cache shared by every instance, and its only reader and writer:
 * single-use identifiers (client assertion jtis), revoked JWT access tokens, replayed authorization
 * codes. Keys are namespaced by the caller ("<namespace>:<...>") and stored as their SHA-256. The
 * primary key decides: of two instances inserting the same key, exactly one succeeds, so a replay
 * is refused across instances without reading first.
 */
@Injectable()
export class ReplayCacheService {
  constructor(
    @InjectRepository(UsedJti) private readonly repo: Repository<UsedJti>,
    private readonly clock: Clock,
    private readonly sql: SqlRunner,
  ) {}

  /**
   * Records `key` (hashed with SHA-256) as used until `expiresAt`. Returns false when it is already
   * recorded and not yet expired, i.e. this is a replay.
   */
  async markUsed(key: string, expiresAt: Date): Promise<boolean> {
    const keyHash = sha256Hex(key);
    if (await this.tryInsert(keyHash, expiresAt)) return true;
    // The row may be a leftover the purge has not reached yet: once expired it no longer blocks the
    // key. Deleting it is itself conditional, so two instances cannot both take this path and win.
    const stale = await this.repo
      .createQueryBuilder()
      .delete()
      .where('key_hash = :keyHash AND expires_at <= :now', { keyHash, now: this.clock.nowMs() })
      .execute();
    return !!stale.affected && (await this.tryInsert(keyHash, expiresAt));
  }

  /** Records `key` until `expiresAt`; recording it twice, or on two instances at once, is not an error. */
  async remember(key: string, expiresAt: Date): Promise<void> {
    await this.repo.createQueryBuilder().insert().values({ keyHash: sha256Hex(key), expiresAt }).orIgnore().execute();
  }

  /** Whether `key` is recorded (expired rows the purge has not reached yet included). */
  async has(key: string): Promise<boolean> {
    return (await this.sql.get(HAS, [sha256Hex(key)])) !== undefined;
  }

  /** Deletes the rows that expired before `beforeMs`. */
  async purgeExpired(beforeMs: number): Promise<number> {
    const result = await this.repo.createQueryBuilder().delete().where('expires_at < :beforeMs', { beforeMs }).execute();
    return result.affected ?? 0;
  }

  private async tryInsert(keyHash: string, expiresAt: Date): Promise<boolean> {
    try {
      await this.repo.insert({ keyHash, expiresAt });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }
}

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { sha256Hex } from '../common/crypto';
import { isUniqueViolation } from '../database/errors';
import { UsedJti } from './used-jti.entity';

/**
 * The used_jtis table as a replay cache for single-use identifiers presented by other modules
 * (client assertion jtis). The primary key decides: of two instances inserting the same key, exactly
 * one succeeds, so a replay is refused across instances without reading first.
 */
@Injectable()
export class ReplayCacheService {
  constructor(
    @InjectRepository(UsedJti) private readonly repo: Repository<UsedJti>,
    private readonly clock: Clock,
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

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { sha256Hex } from '../common/crypto';
import { RefreshToken } from './refresh-token.entity';
import { TokenFamily } from './token-family.entity';

/** Refresh tokens are 43 base64url characters; anything much longer is not one of ours and is not hashed. */
const MAX_TOKEN_LENGTH = 512;

/**
 * State changes of refresh tokens and their families (SPEC §3.5). Every change that must happen at
 * most once is a single conditional UPDATE whose affected-row count decides, so that concurrent
 * requests on any number of instances agree on the outcome.
 */
@Injectable()
export class RefreshTokensService {
  constructor(
    private readonly clock: Clock,
    @InjectRepository(RefreshToken) private readonly refreshTokens: Repository<RefreshToken>,
    @InjectRepository(TokenFamily) private readonly families: Repository<TokenFamily>,
  ) {}

  /** The stored row of a presented refresh token, looked up by its SHA-256. */
  find(token: string): Promise<RefreshToken | null> {
    if (token.length > MAX_TOKEN_LENGTH) return Promise.resolve(null);
    return this.refreshTokens.findOne({ where: { tokenHash: sha256Hex(token) } });
  }

  findFamily(id: string): Promise<TokenFamily | null> {
    return this.families.findOne({ where: { id } });
  }

  /** Spends a refresh token. True for exactly one caller, however many present it at once. */
  async rotate(tokenHash: string): Promise<boolean> {
    const result = await this.refreshTokens
      .createQueryBuilder()
      .update()
      .set({ rotatedAt: this.clock.now() })
      .where('token_hash = :tokenHash AND rotated_at IS NULL', { tokenHash })
      .execute();
    return result.affected === 1;
  }

  /**
   * The one retry of a spent token within `graceSeconds` of its rotation (a client that lost the
   * response). True for at most one caller; false once the window has passed or the retry is used.
   */
  async useGrace(tokenHash: string, graceSeconds: number): Promise<boolean> {
    if (graceSeconds <= 0) return false;
    const now = this.clock.nowMs();
    const result = await this.refreshTokens
      .createQueryBuilder()
      .update()
      .set({ graceUsedAt: new Date(now) })
      .where('token_hash = :tokenHash AND rotated_at IS NOT NULL AND grace_used_at IS NULL AND rotated_at >= :since', {
        tokenHash,
        since: now - graceSeconds * 1000,
      })
      .execute();
    return result.affected === 1;
  }

  /** Ends a family: its refresh tokens stop working and so do its access tokens. True if this call ended it. */
  async endFamily(id: string, reason: string): Promise<boolean> {
    const result = await this.families
      .createQueryBuilder()
      .update()
      .set({ revokedAt: this.clock.now(), revokedReason: reason })
      .where('id = :id AND revoked_at IS NULL', { id })
      .execute();
    return result.affected === 1;
  }

  /** Moves the family's exchange deadline earlier, never later (a smaller max_exchange_period sticks). */
  async shortenExchangeDeadline(id: string, deadline: Date): Promise<void> {
    await this.families
      .createQueryBuilder()
      .update()
      .set({ exchangeDeadline: deadline })
      .where('id = :id AND exchange_deadline > :deadline', { id, deadline: deadline.getTime() })
      .execute();
  }
}

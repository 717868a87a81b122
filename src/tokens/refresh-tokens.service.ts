import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { randomToken, sha256Hex } from '../common/crypto';
import { formatScope } from '../oauth/scopes';
import { TokenFamiliesService } from '../sessions/token-families.service';
import type { TokenFamily } from '../sessions/token-family.entity';
import { RefreshToken } from './refresh-token.entity';

/** Refresh tokens are 43 base64url characters; anything much longer is not one of ours and is not hashed. */
const MAX_TOKEN_LENGTH = 512;

/**
 * Refresh tokens (SPEC §3.5): 256-bit random values stored only as their SHA-256. Every change that
 * must happen at most once is a single conditional UPDATE whose affected-row count decides, so that
 * concurrent requests on any number of instances agree on the outcome.
 */
@Injectable()
export class RefreshTokensService {
  constructor(
    private readonly clock: Clock,
    @InjectRepository(RefreshToken) private readonly refreshTokens: Repository<RefreshToken>,
    private readonly families: TokenFamiliesService,
  ) {}

  /** Issues a refresh token of the family, living `ttlSeconds`, and keeps the family until it expires. */
  async issue(family: TokenFamily, scope: string[], ttlSeconds: number): Promise<{ token: string; expiresIn: number }> {
    const now = this.clock.now();
    const token = randomToken();
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
    await this.refreshTokens.insert({
      tokenHash: sha256Hex(token),
      familyId: family.id,
      clientId: family.clientId,
      scope: formatScope(scope),
      createdAt: now,
      expiresAt,
      rotatedAt: null,
      graceUsedAt: null,
    });
    await this.families.extend(family, expiresAt);
    return { token, expiresIn: ttlSeconds };
  }

  /** The stored row of a presented refresh token, looked up by its SHA-256. */
  find(token: string): Promise<RefreshToken | null> {
    if (token.length > MAX_TOKEN_LENGTH) return Promise.resolve(null);
    return this.refreshTokens.findOne({ where: { tokenHash: sha256Hex(token) } });
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

  /** Deletes the tokens that expired before `beforeMs`, spent or not. */
  async purgeExpired(beforeMs: number): Promise<number> {
    const result = await this.refreshTokens.createQueryBuilder().delete().where('expires_at < :beforeMs', { beforeMs }).execute();
    return result.affected ?? 0;
  }
}

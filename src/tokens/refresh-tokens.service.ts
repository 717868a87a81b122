import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { randomToken, sha256Hex } from '../common/crypto';
import { SqlRunner, type WriteStep } from '../database/sql-runner';
import { formatScope } from '../oauth/scopes';
import { TokenFamiliesService } from '../sessions/token-families.service';
import type { TokenFamily } from '../sessions/token-family.entity';
import { RefreshToken } from './refresh-token.entity';

/** Refresh tokens are 43 base64url characters; anything much longer is not one of ours and is not hashed. */
const MAX_TOKEN_LENGTH = 512;

const INSERT_TOKEN =
  'INSERT INTO refresh_tokens (token_hash, family_id, client_id, scope, created_at, expires_at, rotated_at, grace_used_at) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)';
const ROTATE = 'UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL';
const USE_GRACE = 'UPDATE refresh_tokens SET grace_used_at = ? WHERE token_hash = ? AND rotated_at IS NOT NULL AND grace_used_at IS NULL AND rotated_at >= ?';

/** A presented refresh token with its family and the family's user (the Users module's `User`, named by the caller), as one read returns them. */
export interface RefreshSession<User> {
  token: RefreshToken;
  /** Null when the family is gone (purged). */
  family: TokenFamily | null;
  /** Null when the user is gone (deleted). */
  user: User | null;
}

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
    private readonly sql: SqlRunner,
  ) {}

  /**
   * A new refresh token of the family, living `ttlSeconds`, and the writes that store it and keep
   * the family until it expires, for the caller to run in one transaction with the rest of the response.
   */
  prepareIssue(family: TokenFamily, scope: string[], ttlSeconds: number): { token: string; expiresIn: number; steps: WriteStep[] } {
    const now = this.clock.now();
    const token = randomToken();
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
    const steps: WriteStep[] = [{ sql: INSERT_TOKEN, params: [sha256Hex(token), family.id, family.clientId, formatScope(scope), now, expiresAt] }];
    const extend = this.families.extendStep(family, expiresAt, ttlSeconds);
    if (extend) steps.push(extend);
    return { token, expiresIn: ttlSeconds, steps };
  }

  /** The stored row of a presented refresh token, looked up by its SHA-256. */
  find(token: string): Promise<RefreshToken | null> {
    if (token.length > MAX_TOKEN_LENGTH) return Promise.resolve(null);
    return this.refreshTokens.findOne({ where: { tokenHash: sha256Hex(token) } });
  }

  /**
   * The presented token, its family and the family's user, in one statement (a JOIN). The one
   * documented read of other owners' tables (docs/architecture.md, "Joined reads"): token_families
   * and users are only read here, never written, and their rows are hydrated from their own
   * entities' metadata. Null when the token is unknown.
   */
  async findWithSession<User extends object>(token: string): Promise<RefreshSession<User> | null> {
    if (token.length > MAX_TOKEN_LENGTH) return null;
    const row = await this.sql.get(this.sessionQuery(), [sha256Hex(token)]);
    if (!row) return null;
    return {
      token: this.sql.hydrate<RefreshToken>(RefreshToken, 'rt', row)!,
      family: this.sql.hydrate<TokenFamily>('token_families', 'f', row),
      user: this.sql.hydrate<User>('users', 'u', row),
    };
  }

  private sessionSql?: string;
  private sessionQuery(): string {
    this.sessionSql ??=
      `SELECT ${this.sql.columns(RefreshToken, 'rt')}, ${this.sql.columns('token_families', 'f')}, ${this.sql.columns('users', 'u')} ` +
      'FROM refresh_tokens rt LEFT JOIN token_families f ON f.id = rt.family_id LEFT JOIN users u ON u.id = f.user_id WHERE rt.token_hash = ?';
    return this.sessionSql;
  }

  /** The UPDATE that spends a refresh token: it changes one row for exactly one caller, however many present the token at once. */
  rotateStep(tokenHash: string): WriteStep {
    return { sql: ROTATE, params: [this.clock.now(), tokenHash], expect: 1 };
  }

  /**
   * The UPDATE of the one retry of a spent token within `graceSeconds` of its rotation (a client
   * that lost the response): it changes one row for at most one caller, none once the window has
   * passed or the retry is used.
   */
  graceStep(tokenHash: string, graceSeconds: number): WriteStep {
    const now = this.clock.nowMs();
    return { sql: USE_GRACE, params: [now, tokenHash, now - graceSeconds * 1000], expect: 1 };
  }

  /** Deletes the tokens that expired before `beforeMs`, spent or not. */
  async purgeExpired(beforeMs: number): Promise<number> {
    const result = await this.refreshTokens.createQueryBuilder().delete().where('expires_at < :beforeMs', { beforeMs }).execute();
    return result.affected ?? 0;
  }
}

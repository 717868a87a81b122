import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { randomToken, sha256Hex } from '../common/crypto';
import { SqlRunner, type WriteStep } from '../database/sql-runner';
import { formatScope } from '../oauth/scopes';
import { AuthorizationCode } from './authorization-code.entity';
import { ReplayCacheService } from './replay-cache.service';

/** RFC 6749 §4.1.2 recommends at most 10 minutes; SPEC §3.4 makes it exactly that. */
export const AUTHORIZATION_CODE_TTL_MS = 10 * 60_000;

export interface NewAuthorizationCode {
  clientId: string;
  userId: string;
  redirectUri: string;
  scope: string[];
  nonce?: string | null;
  codeChallenge?: string | null;
  codeChallengeMethod?: 'S256' | 'plain' | null;
  authTime: Date;
  amr: string[];
  /** The browser SSO session the code was issued in. */
  browserSessionId?: string | null;
}

/**
 * Authorization codes: 256-bit random values stored only as their SHA-256, redeemed once by a
 * single conditional UPDATE, so that of any number of concurrent redemptions on any number of
 * instances exactly one wins.
 */
@Injectable()
export class AuthorizationCodesService {
  constructor(
    private readonly clock: Clock,
    @InjectRepository(AuthorizationCode) private readonly codes: Repository<AuthorizationCode>,
    private readonly replayCache: ReplayCacheService,
    private readonly sql: SqlRunner,
  ) {}

  /** Deletes the codes of a deleted client, redeemed or not: a client later registered under its client_id gets none of them. */
  async discardForClient(clientId: string): Promise<number> {
    const result = await this.codes.delete({ clientId });
    return result.affected ?? 0;
  }

  /**
   * Deletes every code issued to a user and not yet redeemed (locked, disabled, deleted, password
   * set, signed out everywhere): none of them can start a session any more. One statement, so a
   * redemption on any instance either consumed its code before it or finds nothing to consume.
   */
  async discardForUser(userId: string): Promise<number> {
    const result = await this.codes.createQueryBuilder().delete().where('user_id = :userId AND consumed_at IS NULL', { userId }).execute();
    return result.affected ?? 0;
  }

  /** Stores a new code and returns its value, which exists nowhere else. */
  async issue(input: NewAuthorizationCode): Promise<string> {
    const code = randomToken();
    const now = this.clock.nowMs();
    await this.codes.insert({
      codeHash: sha256Hex(code),
      clientId: input.clientId,
      userId: input.userId,
      redirectUri: input.redirectUri,
      scope: formatScope(input.scope),
      nonce: input.nonce ?? null,
      codeChallenge: input.codeChallenge ?? null,
      codeChallengeMethod: input.codeChallengeMethod ?? null,
      authTime: input.authTime,
      amr: input.amr.join(' '),
      browserSessionId: input.browserSessionId ?? null,
      createdAt: new Date(now),
      expiresAt: new Date(now + AUTHORIZATION_CODE_TTL_MS),
      consumedAt: null,
    });
    return code;
  }

  /** The stored code a presented value stands for, or null. Reading it decides nothing: see {@link consume}. */
  find(code: string): Promise<AuthorizationCode | null> {
    if (code.length > 512) return Promise.resolve(null);
    return this.codes.findOne({ where: { codeHash: sha256Hex(code) } });
  }

  /**
   * The stored code a presented value stands for and the user it was issued to, in one statement
   * (a JOIN): the one read of another owner's table here (docs/architecture.md, "Joined reads"),
   * the users row hydrated from its entity's metadata, the caller naming its type. Null when the
   * code is unknown; `user` null when the user is gone. Reading decides nothing: see {@link consume}.
   */
  async findWithUser<User extends object>(code: string): Promise<{ code: AuthorizationCode; user: User | null } | null> {
    if (code.length > 512) return null;
    this.withUserSql ??= `SELECT ${this.sql.columns(AuthorizationCode, 'c')}, ${this.sql.columns('users', 'u')} FROM authorization_codes c LEFT JOIN users u ON u.id = c.user_id WHERE c.code_hash = ?`;
    const row = await this.sql.get(this.withUserSql, [sha256Hex(code)]);
    if (!row) return null;
    const found = this.sql.hydrate<AuthorizationCode>(AuthorizationCode, 'c', row)!;
    const user = this.sql.hydrate<User>('users', 'u', row);
    // The id compared exactly (MySQL's collation compares it ignoring case), as UsersService.findById does.
    return { code: found, user: user && (user as { id?: unknown }).id === found.userId ? user : null };
  }
  private withUserSql?: string;

  /**
   * Redeems the code: one conditional UPDATE, and only the request whose UPDATE changed the row may
   * issue tokens. False when it was already consumed or has expired.
   */
  async consume(codeHash: string): Promise<boolean> {
    const now = this.clock.nowMs();
    const result = await this.codes
      .createQueryBuilder()
      .update()
      .set({ consumedAt: new Date(now) })
      .where('code_hash = :codeHash AND consumed_at IS NULL AND expires_at > :now', { codeHash, now })
      .execute();
    return result.affected === 1;
  }

  /**
   * The conditional UPDATE of {@link consume}, for the caller to run in one transaction with the
   * family and tokens it issues: it changes one row for exactly one caller, so the code is spent
   * exactly when those tokens exist.
   */
  consumeStep(codeHash: string): WriteStep {
    const now = this.clock.nowMs();
    return { sql: CONSUME, params: [now, codeHash, now], expect: 1 };
  }

  async isConsumed(codeHash: string): Promise<boolean> {
    const row = await this.codes.findOne({ where: { codeHash }, select: { codeHash: true, consumedAt: true } });
    return !!row?.consumedAt;
  }

  /**
   * Remembers, in the replay cache every instance shares, that the code was presented again. The
   * request that redeemed it checks this after issuing its tokens: a replay racing the first
   * redemption, before its family existed to be revoked, still ends that family.
   */
  recordReplay(codeHash: string, codeExpiresAt: Date): Promise<void> {
    return this.replayCache.remember(replayKey(codeHash), new Date(codeExpiresAt.getTime() + AUTHORIZATION_CODE_TTL_MS));
  }

  wasReplayed(codeHash: string): Promise<boolean> {
    return this.replayCache.has(replayKey(codeHash));
  }

  /** Deletes the codes that expired before `beforeMs`, redeemed or not. */
  async purgeExpired(beforeMs: number): Promise<number> {
    const result = await this.codes.createQueryBuilder().delete().where('expires_at < :beforeMs', { beforeMs }).execute();
    return result.affected ?? 0;
  }
}

const CONSUME = 'UPDATE authorization_codes SET consumed_at = ? WHERE code_hash = ? AND consumed_at IS NULL AND expires_at > ?';

function replayKey(codeHash: string): string {
  return `authorization_code_replay:${codeHash}`;
}

import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { SqlRunner, type WriteStep } from '../database/sql-runner';
import { formatScope } from '../oauth/scopes';
import { TokenFamily } from './token-family.entity';

/** What a family needs to know of its client: who it is and how long its access and id tokens live. */
export interface FamilyClient {
  clientId: string;
  accessTokenTtl: number;
  idTokenTtl: number;
}

export interface NewTokenFamily {
  client: FamilyClient;
  userId: string;
  scope: string[];
  authTime: Date;
  amr: string[];
  exchangeDeadline: Date;
  /** The authorization code the login is redeemed from, so that a replay of the code can end the family. */
  codeHash?: string | null;
  /** Keep the family at least until then (the refresh token issued with it); by default as long as its access and id tokens. */
  keepUntil?: Date;
  /** The browser SSO session of the login, when it came through the authorization endpoint. */
  browserSessionId?: string | null;
}

/**
 * When a refresh token outlives its family, the family is kept this much longer still (at most a
 * day, at most one refresh token lifetime), so that the refreshes that follow within it need no
 * UPDATE of the family: its expiry only tells the purge when it may go.
 */
const EXTEND_SLACK_MS = 24 * 3600_000;

const INSERT_FAMILY =
  'INSERT INTO token_families (id, client_id, user_id, scope, auth_time, amr, exchange_deadline, code_hash, browser_session_id, revoked_at, revoked_reason, created_at, expires_at) ' +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?)';
const EXTEND_FAMILY = 'UPDATE token_families SET expires_at = ? WHERE id = ? AND expires_at < ?';
const SHORTEN_DEADLINE = 'UPDATE token_families SET exchange_deadline = ? WHERE id = ? AND exchange_deadline > ?';

/**
 * The token families (login sessions): one per login of a user at a client, which every access
 * and refresh token issued from it, through any number of refreshes, belongs to and dies with.
 * The only code that reads or writes the token_families table. Every change that must happen at
 * most once is a single conditional UPDATE whose affected-row count decides, so that concurrent
 * requests on any number of instances agree.
 */
@Injectable()
export class TokenFamiliesService {
  constructor(
    private readonly clock: Clock,
    @InjectRepository(TokenFamily) private readonly families: Repository<TokenFamily>,
    private readonly sql: SqlRunner,
  ) {}

  /** Starts the family of a login; it lives as long as its access and id tokens, until a refresh token extends it. */
  async start(input: NewTokenFamily): Promise<TokenFamily> {
    const { family, step } = this.prepareStart(input);
    await this.sql.run(step.sql, step.params);
    return family;
  }

  /**
   * The family of a login and the INSERT that starts it, for the caller to run in one transaction
   * with the login's other writes (the code redemption, the refresh token).
   */
  prepareStart(input: NewTokenFamily): { family: TokenFamily; step: WriteStep } {
    const now = this.clock.now();
    const tokensExpire = now.getTime() + Math.max(input.client.accessTokenTtl, input.client.idTokenTtl) * 1000;
    const family = this.families.create({
      id: randomUUID(),
      clientId: input.client.clientId,
      userId: input.userId,
      scope: formatScope(input.scope),
      authTime: input.authTime,
      amr: input.amr.join(' '),
      exchangeDeadline: input.exchangeDeadline,
      codeHash: input.codeHash ?? null,
      browserSessionId: input.browserSessionId ?? null,
      revokedAt: null,
      revokedReason: null,
      createdAt: now,
      expiresAt: new Date(Math.max(tokensExpire, input.keepUntil?.getTime() ?? 0)),
    });
    const step: WriteStep = {
      sql: INSERT_FAMILY,
      params: [family.id, family.clientId, family.userId, family.scope, family.authTime, family.amr, family.exchangeDeadline, family.codeHash, family.browserSessionId, now, family.expiresAt],
    };
    return { family, step };
  }

  find(id: string): Promise<TokenFamily | null> {
    return this.families.findOne({ where: { id } });
  }

  /** Whether the family exists and has not ended: the tokens carrying its id (`sid`) are only valid while it is. */
  async isActive(id: string): Promise<boolean> {
    const family = await this.families.findOne({ where: { id }, select: { id: true, revokedAt: true } });
    return !!family && !family.revokedAt;
  }

  /**
   * The UPDATE that keeps the family until `expiresAt` (a new refresh token's expiry), or nothing
   * when it is kept that long already: never shortens it, and extends it with some slack (see
   * EXTEND_SLACK_MS) so that most refreshes write nothing here.
   */
  extendStep(family: TokenFamily, expiresAt: Date, lifetimeSeconds: number): WriteStep | undefined {
    if (expiresAt <= family.expiresAt) return undefined;
    const until = new Date(expiresAt.getTime() + Math.min(EXTEND_SLACK_MS, lifetimeSeconds * 1000));
    family.expiresAt = until;
    return { sql: EXTEND_FAMILY, params: [until, family.id, until] };
  }

  /** The UPDATE that moves the family's exchange deadline earlier, never later (a smaller max_exchange_period sticks); nothing when unchanged. */
  shortenExchangeDeadlineStep(family: TokenFamily, deadline: Date): WriteStep | undefined {
    if (deadline >= family.exchangeDeadline) return undefined;
    family.exchangeDeadline = deadline;
    return { sql: SHORTEN_DEADLINE, params: [deadline, family.id, deadline] };
  }

  /** Ends a family: its refresh tokens stop working and so do its access tokens. True if this call ended it. */
  async end(id: string, reason: string): Promise<boolean> {
    return (await this.endWhere('id = :id', { id }, reason)) === 1;
  }

  /** Ends every family of a user (disabled, deleted, or signed out everywhere by an administrator). */
  endForUser(userId: string, reason: string): Promise<number> {
    return this.endWhere('user_id = :userId', { userId }, reason);
  }

  /** Ends every family of a client (deleted: nothing of it survives for a client registered later under its client_id). */
  endForClient(clientId: string, reason: string): Promise<number> {
    return this.endWhere('client_id = :clientId', { clientId }, reason);
  }

  /** Ends the family issued from an authorization code (RFC 6749 §4.1.2: a code used twice revokes the tokens issued from it). */
  endForCode(codeHash: string, reason: string): Promise<number> {
    return this.endWhere('code_hash = :codeHash', { codeHash }, reason);
  }

  /** Ends the families a browser session started at these clients (logout, for clients with logout_revokes_refresh_tokens). */
  async endForBrowserSession(browserSessionId: string, clientIds: string[], reason: string): Promise<number> {
    if (!clientIds.length) return 0;
    const result = await this.families
      .createQueryBuilder()
      .update()
      .set({ revokedAt: this.clock.now(), revokedReason: reason })
      .where('browser_session_id = :browserSessionId AND client_id IN (:...clientIds) AND revoked_at IS NULL', { browserSessionId, clientIds })
      .execute();
    return result.affected ?? 0;
  }

  /** Deletes the families that ended before `beforeMs`; see the purge for the margin. */
  async purgeExpired(beforeMs: number): Promise<number> {
    const result = await this.families.createQueryBuilder().delete().where('expires_at < :beforeMs', { beforeMs }).execute();
    return result.affected ?? 0;
  }

  private async endWhere(condition: string, parameters: Record<string, string>, reason: string): Promise<number> {
    const result = await this.families
      .createQueryBuilder()
      .update()
      .set({ revokedAt: this.clock.now(), revokedReason: reason })
      .where(`${condition} AND revoked_at IS NULL`, parameters)
      .execute();
    return result.affected ?? 0;
  }
}

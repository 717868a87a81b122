import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { randomToken, sha256Hex } from '../common/crypto';
import { AppConfig } from '../config/app-config';
import { SqlRunner, type WriteStep } from '../database/sql-runner';
import { KeysService } from '../keys/keys.service';
import { isDatabaseUnavailable } from '../oauth/oauth-exception.filter';
import { formatScope } from '../oauth/scopes';
import { TokenFamiliesService } from '../sessions/token-families.service';
import { AccessToken } from './access-token.entity';
import { ReplayCacheService } from './replay-cache.service';

export type AccessTokenFormat = 'jwt' | 'opaque';

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
  jti: string;
}

/**
 * The audiences of a token, from the client's access_token_audience (several separated by single
 * spaces) or the stored `audience`: the JWT `aud` claim and introspection's `aud` are a string for one
 * and an array for several (RFC 7519 §4.1.3).
 */
export function audienceClaim(audience: string): string | string[] {
  const audiences = audience.split(' ').filter(Boolean);
  return audiences.length === 1 ? audiences[0] : audiences;
}

/** Whether `clientId` is among the audiences of a token (`AccessTokenInfo.audience`): a resource server's check. */
export function hasAudience(audience: string, clientId: string): boolean {
  return audience.split(' ').includes(clientId);
}

/** What a valid access token says, whichever its format. */
export interface AccessTokenInfo {
  format: AccessTokenFormat;
  jti: string;
  clientId: string;
  /** The user's id, or the client_id for client_credentials tokens. */
  sub: string;
  userId: string | null;
  familyId: string | null;
  scope: string[];
  /** Its audiences, separated by single spaces. */
  audience: string;
  issuedAt: number;
  expiresAt: number;
  authTime: number | null;
}

/** What an access token needs to know of its client. */
export interface AccessTokenClient {
  clientId: string;
  accessTokenTtl: number;
  accessTokenAudience: string | null;
}

export interface AccessTokenInput {
  client: AccessTokenClient;
  scope: string[];
  format: AccessTokenFormat;
  /** Absent for client_credentials. */
  userId?: string | null;
  authTime?: Date | null;
  familyId?: string | null;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const INSERT_OPAQUE_HEAD = 'INSERT INTO access_tokens (token_hash, jti, client_id, user_id, family_id, scope, audience, auth_time, created_at, expires_at, revoked_at)';
const OPAQUE_ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)';
const INSERT_OPAQUE = `${INSERT_OPAQUE_HEAD} VALUES ${OPAQUE_ROW}`;

/**
 * How far ahead of this instance's clock an `iat` may be: the clock difference tolerated between
 * instances. jose checks `exp` and `nbf` but accepts any `iat`; a token dated further ahead was not
 * issued by one of our instances with a sane clock.
 */
const ISSUED_AT_LEEWAY_SECONDS = 60;

/**
 * Issues and reads access tokens. JWT access tokens follow RFC 9068 and are not stored; opaque ones
 * are 256-bit random values stored only as SHA-256 hashes, in the access_tokens table this service
 * alone reads and writes.
 */
@Injectable()
export class AccessTokensService {
  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly keys: KeysService,
    private readonly families: TokenFamiliesService,
    private readonly replayCache: ReplayCacheService,
    @InjectRepository(AccessToken) private readonly accessTokens: Repository<AccessToken>,
    private readonly sql: SqlRunner,
  ) {}

  /**
   * Issues an access token that stands alone (client_credentials); an opaque one is stored, with
   * the other opaque tokens issued at the same moment (SqlRunner.insertRow: one commit for all),
   * before it is returned; a JWT one is only signed.
   */
  async issue(input: AccessTokenInput): Promise<IssuedAccessToken> {
    const { issued, step } = await this.prepare(input);
    if (step) await this.sql.insertRow(INSERT_OPAQUE_HEAD, OPAQUE_ROW, step.params);
    return issued;
  }

  /**
   * An access token and, for an opaque one, the INSERT that stores it, for the caller to run in one
   * transaction with the rest of the response. Not valid until that write has committed.
   */
  async prepare(input: AccessTokenInput): Promise<{ issued: IssuedAccessToken; step?: WriteStep }> {
    const { client } = input;
    const now = this.clock.nowSeconds();
    const expiresIn = client.accessTokenTtl;
    const jti = randomUUID();
    const audience = client.accessTokenAudience || client.clientId;
    if (input.format === 'opaque') {
      const token = randomToken();
      const step: WriteStep = {
        sql: INSERT_OPAQUE,
        params: [
          sha256Hex(token),
          jti,
          client.clientId,
          input.userId ?? null,
          input.familyId ?? null,
          formatScope(input.scope),
          audience,
          input.authTime ?? null,
          new Date(now * 1000),
          new Date((now + expiresIn) * 1000),
        ],
      };
      return { issued: { token, expiresIn, jti }, step };
    }
    const token = await this.keys.sign(
      {
        iss: this.config.issuer,
        sub: input.userId ?? client.clientId,
        aud: audienceClaim(audience),
        exp: now + expiresIn,
        iat: now,
        jti,
        client_id: client.clientId,
        scope: formatScope(input.scope),
        ...(input.authTime ? { auth_time: Math.floor(input.authTime.getTime() / 1000) } : {}),
        ...(input.familyId ? { sid: input.familyId } : {}),
      },
      { typ: 'at+jwt' },
    );
    return { issued: { token, expiresIn, jti } };
  }

  /**
   * Reads an access token of either format. Returns null when it is malformed, forged, expired,
   * revoked, or its family has ended.
   */
  async verify(token: string): Promise<AccessTokenInfo | null> {
    return (await this.verifyStanding<never>(token, false))?.info ?? null;
  }

  /**
   * `verify`, and the token's user (null for a client's own token, or when the user is gone), read
   * in the same statement as the family and the revocation list (an opaque token's own row too):
   * one read. The users row is the Users module's, read here only (docs/architecture.md,
   * "Joined reads") and hydrated from its entity's metadata; the caller names its type.
   */
  verifyWithUser<User extends object>(token: string): Promise<{ info: AccessTokenInfo; user: User | null } | null> {
    return this.verifyStanding<User>(token, true);
  }

  private async verifyStanding<User extends object>(token: string, withUser: boolean): Promise<{ info: AccessTokenInfo; user: User | null } | null> {
    if (!JWT_SHAPE.test(token)) return this.opaqueStanding<User>(token, withUser);
    const info = await this.verifyJwt(token);
    if (!info) return null;
    // UsersService.findById's bounds: a user id is 1 to 36 characters.
    const userId = withUser && info.userId && info.userId.length <= 36 ? info.userId : null;
    const revokedKey = info.format === 'jwt' ? sha256Hex(this.revokedJwtKey(info.jti)) : null;
    if (!info.familyId && !revokedKey && !userId) return { info, user: null };
    const params = [info.familyId, revokedKey, userId].filter((p): p is string => p !== null);
    const row = await this.sql.get<Record<string, unknown>>(this.standingQuery(!!info.familyId, !!revokedKey, !!userId), params);
    if (info.familyId && !Number(row?.family_active)) return null;
    if (revokedKey && Number(row?.revoked)) return null;
    const user = userId && row ? this.sql.hydrate<User>('users', 'u', row) : null;
    // The id compared exactly (MySQL's collation compares it ignoring case), as findById does.
    return { info, user: user && (user as { id?: unknown }).id === userId ? user : null };
  }

  /**
   * An opaque token's row, whether its family stands and its user, in one statement: the token is
   * looked up by its SHA-256, and the rest is joined to it.
   */
  private async opaqueStanding<User extends object>(token: string, withUser: boolean): Promise<{ info: AccessTokenInfo; user: User | null } | null> {
    if (token.length > 512) return null;
    const key = `opaque:${withUser}`;
    let sql = this.standingQueries.get(key);
    if (!sql) {
      const columns = [
        this.sql.columns(AccessToken, 'a'),
        '(SELECT COUNT(*) FROM token_families f WHERE f.id = a.family_id AND f.revoked_at IS NULL) AS family_active',
        ...(withUser ? [this.sql.columns('users', 'u')] : []),
      ];
      sql = `SELECT ${columns.join(', ')} FROM access_tokens a${withUser ? ' LEFT JOIN users u ON u.id = a.user_id' : ''} WHERE a.token_hash = ?`;
      this.standingQueries.set(key, sql);
    }
    const row = await this.sql.get<Record<string, unknown>>(sql, [sha256Hex(token)]);
    const info = row ? this.opaqueInfo(this.sql.hydrate<AccessToken>(AccessToken, 'a', row)!) : null;
    if (!info || (info.familyId && !Number(row!.family_active))) return null;
    const user = withUser && info.userId ? this.sql.hydrate<User>('users', 'u', row!) : null;
    return { info, user: user && (user as { id?: unknown }).id === info.userId ? user : null };
  }

  private readonly standingQueries = new Map<string, string>();
  /**
   * One statement for what decides whether a token still stands: its family not ended, its jti not
   * on the revocation list (the replay cache's `used_jtis`, keyed by SHA-256), and its user's row.
   * Constant text per combination; parameters in that order.
   */
  private standingQuery(family: boolean, revocation: boolean, user: boolean): string {
    const key = `${family}:${revocation}:${user}`;
    let text = this.standingQueries.get(key);
    if (!text) {
      const columns = [
        ...(family ? ['(SELECT COUNT(*) FROM token_families f WHERE f.id = ? AND f.revoked_at IS NULL) AS family_active'] : []),
        ...(revocation ? ['(SELECT COUNT(*) FROM used_jtis j WHERE j.key_hash = ?) AS revoked'] : []),
        ...(user ? [this.sql.columns('users', 'u')] : []),
      ];
      text = `SELECT ${columns.join(', ')} FROM (SELECT 1 AS one) x${user ? ' LEFT JOIN users u ON u.id = ?' : ''}`;
      this.standingQueries.set(key, text);
    }
    return text;
  }

  /**
   * RFC 7009 for an access token of `clientId`: an opaque token is marked revoked; a JWT one, which
   * cannot be recalled, has its jti listed in the replay cache until it expires, so that this service
   * (introspection, UserInfo, admin API) refuses it. Returns the revoked token, or null when the token
   * is unknown, already dead or another client's, in which case nothing changes.
   */
  async revoke(token: string, clientId: string): Promise<AccessTokenInfo | null> {
    const info = await this.verify(token);
    if (!info || info.clientId !== clientId) return null;
    if (info.format === 'opaque') {
      await this.accessTokens
        .createQueryBuilder()
        .update()
        .set({ revokedAt: this.clock.now() })
        .where('token_hash = :hash AND revoked_at IS NULL', { hash: sha256Hex(token) })
        .execute();
    } else {
      await this.replayCache.remember(this.revokedJwtKey(info.jti), new Date(info.expiresAt * 1000));
    }
    return info;
  }

  /**
   * A deleted client's opaque access tokens are revoked with it, so that none survives for a client
   * registered later under the same client_id. (Its JWT ones carry the family's sid, or are refused
   * by Client.predates.)
   */
  async revokeForClient(clientId: string): Promise<number> {
    const result = await this.accessTokens
      .createQueryBuilder()
      .update()
      .set({ revokedAt: this.clock.now() })
      .where('client_id = :clientId AND revoked_at IS NULL', { clientId })
      .execute();
    return result.affected ?? 0;
  }

  /** Deletes the opaque tokens that expired before `beforeMs`. */
  async purgeExpired(beforeMs: number): Promise<number> {
    const result = await this.accessTokens.createQueryBuilder().delete().where('expires_at < :beforeMs', { beforeMs }).execute();
    return result.affected ?? 0;
  }

  private revokedJwtKey(jti: string): string {
    return `revoked-access-token:${this.config.issuer}:${jti}`;
  }

  private async verifyJwt(token: string): Promise<AccessTokenInfo | null> {
    try {
      const payload = await this.keys.verify(token, { issuer: this.config.issuer, typ: 'at+jwt', requiredClaims: ['exp', 'iat', 'jti', 'sub'] });
      if (Number(payload.iat) > this.clock.nowSeconds() + ISSUED_AT_LEEWAY_SECONDS) return null;
      return {
        format: 'jwt',
        jti: String(payload.jti),
        clientId: String(payload.client_id),
        sub: String(payload.sub),
        userId: payload.sub !== payload.client_id || payload.sid ? String(payload.sub) : null,
        familyId: typeof payload.sid === 'string' ? payload.sid : null,
        scope: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
        audience: Array.isArray(payload.aud) ? payload.aud.join(' ') : String(payload.aud),
        issuedAt: Number(payload.iat),
        expiresAt: Number(payload.exp),
        authTime: typeof payload.auth_time === 'number' ? payload.auth_time : null,
      };
    } catch (error) {
      // Looking up an unknown kid reads the database: an outage is a 503, not a bad token.
      if (isDatabaseUnavailable(error)) throw error;
      return null;
    }
  }

  /** What a stored opaque token says, or null when it is revoked or expired. */
  private opaqueInfo(row: AccessToken): AccessTokenInfo | null {
    if (row.revokedAt || row.expiresAt.getTime() <= this.clock.nowMs()) return null;
    return {
      format: 'opaque',
      jti: row.jti,
      clientId: row.clientId,
      sub: row.userId ?? row.clientId,
      userId: row.userId,
      familyId: row.familyId,
      scope: row.scope.split(' ').filter(Boolean),
      audience: row.audience,
      issuedAt: Math.floor(row.createdAt.getTime() / 1000),
      expiresAt: Math.floor(row.expiresAt.getTime() / 1000),
      authTime: row.authTime ? Math.floor(row.authTime.getTime() / 1000) : null,
    };
  }
}

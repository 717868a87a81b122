import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock } from '../common/clock';
import { randomToken, sha256Hex } from '../common/crypto';
import { AppConfig } from '../config/app-config';
import type { AccessTokenFormat, Client } from '../clients/client.entity';
import { KeysService, type SigningAlg } from '../keys/keys.service';
import { isDatabaseUnavailable } from '../oauth/oauth-exception.filter';
import { formatScope } from '../oauth/scopes';
import { AccessToken } from './access-token.entity';
import { RefreshToken } from './refresh-token.entity';
import { TokenFamily } from './token-family.entity';
import { UsedJti } from './used-jti.entity';

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
  jti: string;
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
  audience: string;
  issuedAt: number;
  expiresAt: number;
  authTime: number | null;
}

export interface AccessTokenInput {
  client: Client;
  scope: string[];
  format: AccessTokenFormat;
  /** Absent for client_credentials. */
  userId?: string | null;
  authTime?: Date | null;
  familyId?: string | null;
}

export interface FamilyInput {
  client: Client;
  userId: string;
  scope: string[];
  authTime: Date;
  amr: string[];
  exchangeDeadline: Date;
  codeHash?: string | null;
}

export interface IdTokenInput {
  client: Client;
  userId: string;
  authTime: Date;
  amr: string[];
  sid: string;
  accessToken: string;
  nonce?: string | null;
  /** The user's claims for the granted scope, already filtered (no null or empty values). */
  claims: Record<string, unknown>;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * How far ahead of this instance's clock an `iat` may be: the clock difference tolerated between
 * instances. jose checks `exp` and `nbf` but accepts any `iat`; a token dated further ahead was not
 * issued by one of our instances with a sane clock.
 */
const ISSUED_AT_LEEWAY_SECONDS = 60;

/**
 * Issues and reads tokens. JWT access tokens follow RFC 9068 and are not stored; opaque access
 * tokens and refresh tokens are 256-bit random values stored only as SHA-256 hashes.
 */
@Injectable()
export class TokensService {
  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly keys: KeysService,
    @InjectRepository(AccessToken) private readonly accessTokens: Repository<AccessToken>,
    @InjectRepository(RefreshToken) private readonly refreshTokens: Repository<RefreshToken>,
    @InjectRepository(TokenFamily) private readonly families: Repository<TokenFamily>,
    @InjectRepository(UsedJti) private readonly usedJtis: Repository<UsedJti>,
  ) {}

  async issueAccessToken(input: AccessTokenInput): Promise<IssuedAccessToken> {
    const { client } = input;
    const now = this.clock.nowSeconds();
    const expiresIn = client.accessTokenTtl;
    const jti = randomUUID();
    const audience = client.accessTokenAudience || client.clientId;
    if (input.format === 'opaque') {
      const token = randomToken();
      await this.accessTokens.insert({
        tokenHash: sha256Hex(token),
        jti,
        clientId: client.clientId,
        userId: input.userId ?? null,
        familyId: input.familyId ?? null,
        scope: formatScope(input.scope),
        audience,
        authTime: input.authTime ?? null,
        createdAt: new Date(now * 1000),
        expiresAt: new Date((now + expiresIn) * 1000),
        revokedAt: null,
      });
      return { token, expiresIn, jti };
    }
    const token = await this.keys.sign(
      {
        iss: this.config.issuer,
        sub: input.userId ?? client.clientId,
        aud: audience,
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
    return { token, expiresIn, jti };
  }

  /** Starts the family (login session) that every token of one login belongs to. */
  async startFamily(input: FamilyInput): Promise<TokenFamily> {
    const now = this.clock.now();
    const family = this.families.create({
      id: randomUUID(),
      clientId: input.client.clientId,
      userId: input.userId,
      scope: formatScope(input.scope),
      authTime: input.authTime,
      amr: input.amr.join(' '),
      exchangeDeadline: input.exchangeDeadline,
      codeHash: input.codeHash ?? null,
      revokedAt: null,
      revokedReason: null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + Math.max(input.client.accessTokenTtl, input.client.idTokenTtl) * 1000),
    });
    await this.families.insert(family);
    return family;
  }

  /** Issues a refresh token of the family, living `ttlSeconds`, and keeps the family until it expires. */
  async issueRefreshToken(family: TokenFamily, scope: string[], ttlSeconds: number): Promise<{ token: string; expiresIn: number }> {
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
    if (expiresAt > family.expiresAt) {
      await this.families.update({ id: family.id }, { expiresAt });
      family.expiresAt = expiresAt;
    }
    return { token, expiresIn: ttlSeconds };
  }

  /** An OIDC id_token (Core §2) signed with the client's id_token_signed_response_alg. */
  issueIdToken(input: IdTokenInput): Promise<string> {
    const { client } = input;
    const now = this.clock.nowSeconds();
    const alg = client.idTokenSignedResponseAlg as SigningAlg;
    return this.keys.sign(
      {
        ...input.claims,
        iss: this.config.issuer,
        sub: input.userId,
        aud: client.clientId,
        exp: now + client.idTokenTtl,
        iat: now,
        auth_time: Math.floor(input.authTime.getTime() / 1000),
        ...(input.nonce ? { nonce: input.nonce } : {}),
        at_hash: atHash(input.accessToken, alg),
        sid: input.sid,
        amr: input.amr,
      },
      { alg },
    );
  }

  /**
   * Reads an access token of either format. Returns null when it is malformed, forged, expired,
   * revoked, or its family has ended.
   */
  async verifyAccessToken(token: string): Promise<AccessTokenInfo | null> {
    const info = JWT_SHAPE.test(token) ? await this.verifyJwt(token) : await this.lookupOpaque(token);
    if (!info) return null;
    if (info.familyId && !(await this.isFamilyActive(info.familyId))) return null;
    if (info.format === 'jwt' && (await this.usedJtis.exists({ where: { keyHash: this.revokedJwtKey(info.jti) } }))) return null;
    return info;
  }

  /**
   * RFC 7009 for an access token of `clientId`: an opaque token is marked revoked; a JWT one, which
   * cannot be recalled, has its jti listed in the replay cache until it expires, so that this service
   * (introspection, UserInfo, admin API) refuses it. Returns the revoked token, or null when the token
   * is unknown, already dead or another client's, in which case nothing changes.
   */
  async revokeAccessToken(token: string, clientId: string): Promise<AccessTokenInfo | null> {
    const info = await this.verifyAccessToken(token);
    if (!info || info.clientId !== clientId) return null;
    if (info.format === 'opaque') {
      await this.accessTokens
        .createQueryBuilder()
        .update()
        .set({ revokedAt: this.clock.now() })
        .where('token_hash = :hash AND revoked_at IS NULL', { hash: sha256Hex(token) })
        .execute();
    } else {
      // orIgnore: revoking twice, or on two instances at once, is not an error.
      await this.usedJtis
        .createQueryBuilder()
        .insert()
        .values({ keyHash: this.revokedJwtKey(info.jti), expiresAt: new Date(info.expiresAt * 1000) })
        .orIgnore()
        .execute();
    }
    return info;
  }

  /** Ends every family (login session) of a user: their refresh tokens stop working, and so do their access tokens. */
  async revokeUserFamilies(userId: string, reason: string): Promise<number> {
    const result = await this.families
      .createQueryBuilder()
      .update()
      .set({ revokedAt: this.clock.now(), revokedReason: reason })
      .where('user_id = :userId AND revoked_at IS NULL', { userId })
      .execute();
    return result.affected ?? 0;
  }

  /**
   * A deleted client's tokens die with it: its sessions end and its opaque access tokens are revoked,
   * so that nothing of it survives for a client registered later under the same client_id.
   */
  async endClientSessions(clientId: string, reason: string): Promise<{ families: number; accessTokens: number }> {
    const now = this.clock.now();
    const families = await this.families
      .createQueryBuilder()
      .update()
      .set({ revokedAt: now, revokedReason: reason })
      .where('client_id = :clientId AND revoked_at IS NULL', { clientId })
      .execute();
    const accessTokens = await this.accessTokens
      .createQueryBuilder()
      .update()
      .set({ revokedAt: now })
      .where('client_id = :clientId AND revoked_at IS NULL', { clientId })
      .execute();
    return { families: families.affected ?? 0, accessTokens: accessTokens.affected ?? 0 };
  }

  /**
   * Ends the family issued from an authorization code (RFC 6749 §4.1.2: a code used twice revokes
   * the tokens issued from it); its access and refresh tokens stop working with it.
   */
  async revokeFamilyByCode(codeHash: string, reason: string): Promise<number> {
    const result = await this.families
      .createQueryBuilder()
      .update()
      .set({ revokedAt: this.clock.now(), revokedReason: reason })
      .where('code_hash = :codeHash AND revoked_at IS NULL', { codeHash })
      .execute();
    return result.affected ?? 0;
  }

  async isFamilyActive(familyId: string): Promise<boolean> {
    const family = await this.families.findOne({ where: { id: familyId }, select: { id: true, revokedAt: true } });
    return !!family && !family.revokedAt;
  }

  private revokedJwtKey(jti: string): string {
    return sha256Hex(`revoked-access-token:${this.config.issuer}:${jti}`);
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

  private async lookupOpaque(token: string): Promise<AccessTokenInfo | null> {
    if (token.length > 512) return null;
    const row = await this.accessTokens.findOne({ where: { tokenHash: sha256Hex(token) } });
    if (!row || row.revokedAt || row.expiresAt.getTime() <= this.clock.nowMs()) return null;
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

/** OIDC Core §3.1.3.6: left half of the access token's hash, with the hash of the id_token's alg. */
export function atHash(accessToken: string, alg: SigningAlg): string {
  // Ed25519 signs with SHA-512, so its at_hash uses SHA-512 too (OIDC Core errata).
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

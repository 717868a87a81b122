import { Injectable } from '@nestjs/common';
import type { Client } from '../clients/client.entity';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { exchangePeriodExceeded } from '../policy/exchange-period.check';
import { TokenFamiliesService } from '../sessions/token-families.service';
import { AccessTokensService } from '../tokens/access-tokens.service';
import { RefreshTokensService } from '../tokens/refresh-tokens.service';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';

/** RFC 7662 §2.2. Inactive tokens say nothing else, so the answer never tells why. */
export interface IntrospectionResponse {
  active: boolean;
  scope?: string;
  client_id?: string;
  username?: string;
  token_type?: 'Bearer' | 'refresh_token';
  exp?: number;
  iat?: number;
  sub?: string;
  aud?: string;
  iss?: string;
  jti?: string;
  auth_time?: number;
  /** The login session (token family) the token belongs to, as in the id_token. */
  sid?: string;
}

const INACTIVE: IntrospectionResponse = Object.freeze({ active: false });

/** Marks "this is not a token of that kind": look it up as the other kind. */
const NOT_FOUND = null;

/**
 * Introspection (SPEC §4, RFC 7662) of access tokens of either format and of refresh tokens. A client
 * may only introspect tokens issued to itself; any other token reads as inactive.
 */
@Injectable()
export class IntrospectionService {
  constructor(
    private readonly accessTokens: AccessTokensService,
    private readonly refreshTokens: RefreshTokensService,
    private readonly families: TokenFamiliesService,
    private readonly users: UsersService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async introspect(token: string, tokenTypeHint: string | undefined, client: Client): Promise<IntrospectionResponse> {
    const lookups = [() => this.accessToken(token, client), () => this.refreshToken(token, client)];
    // RFC 7662 §2.1: the hint only says where to look first.
    if (tokenTypeHint === 'refresh_token') lookups.reverse();
    for (const lookup of lookups) {
      const answer = await lookup();
      if (answer !== NOT_FOUND) return answer;
    }
    return INACTIVE;
  }

  private async accessToken(token: string, client: Client): Promise<IntrospectionResponse | null> {
    const info = await this.accessTokens.verify(token);
    if (!info) return NOT_FOUND;
    if (info.clientId !== client.clientId || client.predates(info.issuedAt)) return INACTIVE;
    const user = info.userId ? await this.users.findById(info.userId) : null;
    if (info.userId && !user) return INACTIVE;
    return {
      active: true,
      scope: info.scope.join(' '),
      client_id: info.clientId,
      ...(user ? { username: displayName(user) } : {}),
      token_type: 'Bearer',
      exp: info.expiresAt,
      iat: info.issuedAt,
      sub: info.sub,
      aud: info.audience,
      iss: this.config.issuer,
      jti: info.jti,
      ...(info.authTime !== null ? { auth_time: info.authTime } : {}),
      ...(info.familyId ? { sid: info.familyId } : {}),
    };
  }

  private async refreshToken(token: string, client: Client): Promise<IntrospectionResponse | null> {
    const row = await this.refreshTokens.find(token);
    if (!row) return NOT_FOUND;
    if (row.clientId !== client.clientId) return INACTIVE;
    const now = this.clock.nowMs();
    if (row.rotatedAt || row.expiresAt.getTime() <= now) return INACTIVE;
    const family = await this.families.find(row.familyId);
    if (!family || family.revokedAt || exchangePeriodExceeded(family.exchangeDeadline, now)) return INACTIVE;
    const user = await this.users.findById(family.userId);
    if (!user) return INACTIVE;
    return {
      active: true,
      scope: row.scope,
      client_id: row.clientId,
      username: displayName(user),
      token_type: 'refresh_token',
      exp: Math.floor(row.expiresAt.getTime() / 1000),
      iat: Math.floor(row.createdAt.getTime() / 1000),
      sub: user.id,
      iss: this.config.issuer,
      auth_time: Math.floor(family.authTime.getTime() / 1000),
      sid: family.id,
    };
  }
}

/** RFC 7662 `username`: the login name, else the email or phone number the user logs in with. */
function displayName(user: User): string | undefined {
  return user.username ?? user.email ?? user.phoneNumber ?? undefined;
}

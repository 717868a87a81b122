import { Injectable } from '@nestjs/common';
import type { Client } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { exchangePeriodExceeded } from '../policy/exchange-period.check';
import { PolicyService } from '../policy/policy.service';
import { TokenFamiliesService } from '../sessions/token-families.service';
import { AccessTokensService, audienceClaim, hasAudience, type AccessTokenInfo } from '../tokens/access-tokens.service';
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
  aud?: string | string[];
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
 * Introspection (SPEC §4, RFC 7662) of access tokens of either format and of refresh tokens, by
 * confidential clients (ClientAuthentication refuses public ones there). A client may introspect the tokens
 * issued to itself, and a resource server registered as a client the access tokens whose `aud`
 * contains its client_id; refresh tokens only their own client. Any other token reads as inactive.
 */
@Injectable()
export class IntrospectionService {
  constructor(
    private readonly accessTokens: AccessTokensService,
    private readonly refreshTokens: RefreshTokensService,
    private readonly families: TokenFamiliesService,
    private readonly users: UsersService,
    private readonly clients: ClientsService,
    private readonly policy: PolicyService,
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
    // The token, its family, its revocation and its user in one read.
    const verified = await this.accessTokens.verifyWithUser<User>(token);
    if (!verified) return NOT_FOUND;
    const { info, user } = verified;
    if (!(await this.mayIntrospect(info, client))) return INACTIVE;
    if (info.userId && (!user || !(await this.userStands(user)))) return INACTIVE;
    return {
      active: true,
      scope: info.scope.join(' '),
      client_id: info.clientId,
      ...(user ? { username: displayName(user) } : {}),
      token_type: 'Bearer',
      exp: info.expiresAt,
      iat: info.issuedAt,
      sub: info.sub,
      aud: audienceClaim(info.audience),
      iss: this.config.issuer,
      jti: info.jti,
      ...(info.authTime !== null ? { auth_time: info.authTime } : {}),
      ...(info.familyId ? { sid: info.familyId } : {}),
    };
  }

  /**
   * The token's own client, or a resource server its `aud` names. Neither may read a token issued
   * before it was registered (to an earlier client under its client_id). A resource server also
   * gets nothing from a token whose client no longer stands (deleted, disabled, re-registered since):
   * such tokens are dead at UserInfo too, and a client_credentials JWT has no session to end.
   */
  private async mayIntrospect(info: AccessTokenInfo, caller: Client): Promise<boolean> {
    if (caller.predates(info.issuedAt)) return false;
    if (info.clientId === caller.clientId) return true;
    if (!hasAudience(info.audience, caller.clientId)) return false;
    const issuedTo = await this.clients.findById(info.clientId);
    return !!issuedTo && !issuedTo.disabled && !issuedTo.predates(info.issuedAt);
  }

  /**
   * SPEC §4: the tokens of a deleted, locked or disabled user read as inactive, JWTs included (they
   * cannot be recalled, so the user's state is checked, not only the signature). The same account
   * rules as UserInfo and refresh apply (Policy's `session` stage), so the three always agree.
   */
  private async userStands(user: User): Promise<boolean> {
    return !this.policy.refusal(user, { stage: 'session' }, await this.policy.get());
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
    if (!user || !(await this.userStands(user))) return INACTIVE;
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

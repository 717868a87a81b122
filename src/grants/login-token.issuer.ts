import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import type { Client } from '../clients/client.entity';
import { Clock } from '../common/clock';
import { formatScope } from '../oauth/scopes';
import { TokenFamiliesService } from '../sessions/token-families.service';
import type { TokenFamily } from '../sessions/token-family.entity';
import { AccessTokensService } from '../tokens/access-tokens.service';
import { IdTokensService } from '../tokens/id-tokens.service';
import { RefreshTokensService } from '../tokens/refresh-tokens.service';
import { userClaims } from '../users/claims';
import type { User } from '../users/user.entity';
import type { IssueOptions } from './issue-options';
import type { TokenResponse } from './token-response';

/** A successful user login at a client (password grant, authorization code). */
export interface LoginGrant {
  client: Client;
  user: User;
  grantType: string;
  /** The granted scope, already checked against the client. */
  scope: string[];
  authTime: Date;
  /** RFC 8176 authentication methods, e.g. ["pwd"] or ["pwd", "otp"]. */
  amr: string[];
  nonce?: string | null;
  /** The request's token_format, refresh_expiry and max_exchange_period, already checked. */
  options: IssueOptions;
  /** The authorization code the login is redeemed from, so a replay can end the family. */
  codeHash?: string;
  /** The browser SSO session the authorization code was issued in: its id is the id_token's sid. */
  browserSessionId?: string | null;
  ip?: string;
}

/**
 * Builds the token response of a user login: a new family (session), the access token, a refresh
 * token when the client and scope allow one (SPEC §3.8), and an id_token when openid is granted.
 */
@Injectable()
export class LoginTokenIssuer {
  constructor(
    private readonly families: TokenFamiliesService,
    private readonly accessTokens: AccessTokensService,
    private readonly refreshTokens: RefreshTokensService,
    private readonly idTokens: IdTokensService,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  async issue(grant: LoginGrant): Promise<TokenResponse> {
    const { client, user, options } = grant;
    const exchangeHours = Math.min(client.maxExchangePeriodHours, options.maxExchangePeriodHours ?? Infinity);
    const family = await this.families.start({
      client,
      userId: user.id,
      scope: grant.scope,
      authTime: grant.authTime,
      amr: grant.amr,
      exchangeDeadline: new Date(grant.authTime.getTime() + exchangeHours * 3600_000),
      codeHash: grant.codeHash ?? null,
      browserSessionId: grant.browserSessionId ?? null,
    });
    return this.respond({ ...grant, family });
  }

  /**
   * The response for a family: access token, optional refresh token and id_token. Shared by the
   * login grants and the refresh grant, which passes the family it continues.
   */
  async respond(
    input: LoginGrant & {
      family: TokenFamily;
      /** The new refresh token's scope when it differs from the access token's (RFC 6749 §6: a refresh keeps it). */
      refreshScope?: string[];
    },
  ): Promise<TokenResponse> {
    const { client, user, scope, family } = input;
    const access = await this.accessTokens.issue({
      client,
      scope,
      format: input.options.format,
      userId: user.id,
      authTime: input.authTime,
      familyId: family.id,
    });
    const response: TokenResponse = {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      scope: formatScope(scope),
    };
    const refreshScope = input.refreshScope ?? scope;
    const refreshTtl = this.refreshLifetime(client, refreshScope, family, input.options.refreshExpiry);
    if (refreshTtl > 0) {
      const refresh = await this.refreshTokens.issue(family, refreshScope, refreshTtl);
      response.refresh_token = refresh.token;
      response.refresh_expires_in = refresh.expiresIn;
    }
    if (scope.includes('openid')) {
      response.id_token = await this.idTokens.issue({
        client,
        userId: user.id,
        authTime: input.authTime,
        amr: input.amr,
        // OIDC Front/Back-Channel Logout: the sid of the browser session, the same for every client
        // and every login in it; a login without one (password grant) is its own session.
        sid: family.browserSessionId ?? family.id,
        accessToken: access.token,
        nonce: input.nonce,
        claims: userClaims(user, scope),
      });
    }
    await this.audit.record({
      type: 'token.issued',
      userId: user.id,
      clientId: client.clientId,
      ip: input.ip,
      details: { grant_type: input.grantType, jti: access.jti, sid: family.id, refresh_token: !!response.refresh_token },
    });
    return response;
  }

  /**
   * Seconds the refresh token lives, 0 for none: the client must be allowed the refresh_token grant
   * and the scope must hold offline_access (unless the client says otherwise); refresh_expiry can
   * only shorten the client's refresh_token_ttl, and no refresh token outlives the exchange period.
   */
  private refreshLifetime(client: Client, scope: string[], family: TokenFamily, refreshExpiry?: number): number {
    if (!client.grantTypes.includes('refresh_token')) return 0;
    if (!scope.includes('offline_access') && !client.refreshTokenWithoutOfflineAccess) return 0;
    const untilDeadline = Math.floor((family.exchangeDeadline.getTime() - this.clock.nowMs()) / 1000);
    return Math.max(0, Math.min(client.refreshTokenTtl, refreshExpiry ?? Infinity, untilDeadline));
  }
}

import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import type { Client } from '../clients/client.entity';
import { Clock } from '../common/clock';
import { SqlRunner, type WriteStep } from '../database/sql-runner';
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

/** A token response whose writes have not run yet: the caller runs `steps` in one transaction, then answers `response`. */
export interface PreparedResponse {
  response: TokenResponse;
  steps: WriteStep[];
  jti: string;
}

/**
 * A family started with a refresh token is kept this much longer than the token, so that the
 * refresh token's own INSERT (timed a moment later) needs no UPDATE of the family.
 */
const FAMILY_MARGIN_MS = 60_000;

/**
 * Builds the token response of a user login: a new family (session), the access token, a refresh
 * token when the client and scope allow one (SPEC §3.8), and an id_token when openid is granted.
 * The tokens are signed first; then every write of the response (the family, an opaque access
 * token, the refresh token, and the caller's own, such as the code redemption) runs in one
 * transaction, so that a failure leaves nothing half-written and the client can try again.
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
    private readonly sql: SqlRunner,
  ) {}

  /** Issues the response of a login: the family and the tokens, all stored or none. */
  async issue(grant: LoginGrant): Promise<TokenResponse> {
    // Without leading writes no step expects a row count: the transaction commits or throws.
    return (await this.issueAfter(grant, []))!;
  }

  /**
   * Issues the response of a login after `leading` writes (the code redemption), which run first in
   * the same transaction: when one of them changes other than the rows it expects, nothing is
   * written and the result is null.
   */
  async issueAfter(grant: LoginGrant, leading: WriteStep[]): Promise<TokenResponse | null> {
    const { client, user, options } = grant;
    const exchangeHours = Math.min(client.maxExchangePeriodHours, options.maxExchangePeriodHours ?? Infinity);
    const exchangeDeadline = new Date(grant.authTime.getTime() + exchangeHours * 3600_000);
    const refreshTtl = this.refreshLifetime(client, grant.scope, exchangeDeadline, options.refreshExpiry);
    const { family, step } = this.families.prepareStart({
      client,
      userId: user.id,
      scope: grant.scope,
      authTime: grant.authTime,
      amr: grant.amr,
      exchangeDeadline,
      codeHash: grant.codeHash ?? null,
      keepUntil: refreshTtl > 0 ? new Date(this.clock.nowMs() + refreshTtl * 1000 + FAMILY_MARGIN_MS) : undefined,
      browserSessionId: grant.browserSessionId ?? null,
    });
    const prepared = await this.prepare({ ...grant, family });
    // One transaction even without leading writes: no family is ever stored without its tokens
    // (nor a token without its family), whatever stops the process part-way.
    const result = await this.sql.atomic([...leading, step, ...prepared.steps]);
    if (!result.committed) return null;
    this.recordIssued(grant, family, prepared);
    return prepared.response;
  }

  /**
   * The response for a family, signed but not yet stored: access token, optional refresh token and
   * id_token. Shared by the login grants and the refresh grant, which passes the family it continues.
   */
  async prepare(
    input: LoginGrant & {
      family: TokenFamily;
      /** The new refresh token's scope when it differs from the access token's (RFC 6749 §6: a refresh keeps it). */
      refreshScope?: string[];
    },
  ): Promise<PreparedResponse> {
    const { client, user, scope, family } = input;
    const steps: WriteStep[] = [];
    const { issued: access, step: accessStep } = await this.accessTokens.prepare({
      client,
      scope,
      format: input.options.format,
      userId: user.id,
      authTime: input.authTime,
      familyId: family.id,
    });
    if (accessStep) steps.push(accessStep);
    const response: TokenResponse = {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      scope: formatScope(scope),
    };
    const refreshScope = input.refreshScope ?? scope;
    const refreshTtl = this.refreshLifetime(client, refreshScope, family.exchangeDeadline, input.options.refreshExpiry);
    if (refreshTtl > 0) {
      const refresh = this.refreshTokens.prepareIssue(family, refreshScope, refreshTtl);
      steps.push(...refresh.steps);
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
    return { response, steps, jti: access.jti };
  }

  /** The token.issued audit event of a response whose writes have committed (batched: see AuditService). */
  recordIssued(grant: Pick<LoginGrant, 'client' | 'user' | 'grantType' | 'ip'>, family: TokenFamily, prepared: PreparedResponse): void {
    this.audit.recordTokenIssued({
      userId: grant.user.id,
      clientId: grant.client.clientId,
      ip: grant.ip,
      details: { grant_type: grant.grantType, jti: prepared.jti, sid: family.id, refresh_token: !!prepared.response.refresh_token },
    });
  }

  /**
   * Seconds the refresh token lives, 0 for none: the client must be allowed the refresh_token grant
   * and the scope must hold offline_access (unless the client says otherwise); refresh_expiry can
   * only shorten the client's refresh_token_ttl, and no refresh token outlives the exchange period.
   */
  private refreshLifetime(client: Client, scope: string[], exchangeDeadline: Date, refreshExpiry?: number): number {
    if (!client.grantTypes.includes('refresh_token')) return 0;
    if (!scope.includes('offline_access') && !client.refreshTokenWithoutOfflineAccess) return 0;
    const untilDeadline = Math.floor((exchangeDeadline.getTime() - this.clock.nowMs()) / 1000);
    return Math.max(0, Math.min(client.refreshTokenTtl, refreshExpiry ?? Infinity, untilDeadline));
  }
}

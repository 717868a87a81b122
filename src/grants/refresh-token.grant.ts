import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { SqlRunner } from '../database/sql-runner';
import { InvalidGrant, InvalidScope } from '../oauth/errors';
import { parseScope, SCOPE_TOKEN } from '../oauth/scopes';
import { exchangeDeadline, exchangePeriodExceeded } from '../policy/exchange-period.check';
import { PolicyService } from '../policy/policy.service';
import type { RefreshToken } from '../tokens/refresh-token.entity';
import { RefreshTokensService } from '../tokens/refresh-tokens.service';
import { TokenFamiliesService } from '../sessions/token-families.service';
import type { TokenFamily } from '../sessions/token-family.entity';
import type { User } from '../users/user.entity';
import type { GrantHandler, TokenRequest } from './grant-handler';
import { requiredString, type GrantParameter } from './grant-parameters';
import { ISSUE_OPTIONS } from './issue-options';
import { LoginTokenIssuer } from './login-token.issuer';
import type { TokenResponse } from './token-response';

/** A scope parameter on refresh; absent means the refresh token's whole scope. */
const REFRESH_SCOPE: GrantParameter<string[] | undefined> = {
  fields: { scope: { type: 'string', description: "A subset of the refresh token's scope for the new access token; absent = all of it" } },
  parse: ({ scope }) => {
    if (scope === undefined) return undefined;
    if (!scope.split(' ').every((s) => s === '' || SCOPE_TOKEN.test(s))) throw new InvalidScope('The scope parameter is malformed');
    const scopes = parseScope(scope);
    return scopes.length ? scopes : undefined;
  },
};

/** Every parameter is checked before the token is looked at, so a malformed request spends nothing. */
const PARAMETERS = {
  refreshToken: requiredString('refresh_token', 'The refresh token to rotate'),
  issue: ISSUE_OPTIONS,
  scope: REFRESH_SCOPE,
};

/**
 * RFC 6749 §6 with rotation (SPEC §3.5): every refresh spends the presented token and returns a new
 * one of the same family; presenting a spent token again ends the family (reuse detection, OAuth 2.0
 * Security BCP §4.14.2), except for one retry within the policy's grace window.
 */
@Injectable()
export class RefreshTokenGrant implements GrantHandler<typeof PARAMETERS> {
  static readonly grantType = 'refresh_token';
  static readonly parameters = PARAMETERS;
  static readonly example = { refresh_token: 'the refresh_token of an earlier token response' };

  constructor(
    private readonly refreshTokens: RefreshTokensService,
    private readonly families: TokenFamiliesService,
    private readonly policy: PolicyService,
    private readonly issuer: LoginTokenIssuer,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly sql: SqlRunner,
  ) {}

  async handle({ params, client, ip }: TokenRequest<typeof PARAMETERS>): Promise<TokenResponse> {
    const requestedScope = params.scope;
    // The token, its family and its user in one read.
    const session = await this.refreshTokens.findWithSession<User>(params.refreshToken);
    // Another client's token reads as unknown, and presenting it changes nothing (it proves nothing about the owner).
    if (!session || session.token.clientId !== client.clientId) throw new InvalidGrant('Invalid refresh token');
    const { token, family, user } = session;
    if (!family || family.clientId !== client.clientId) throw new InvalidGrant('Invalid refresh token');

    const now = this.clock.nowMs();
    const deadline = exchangeDeadline(family, params.issue.maxExchangePeriodHours);
    if (exchangePeriodExceeded(deadline, now)) {
      await this.endFamily(family, 'exchange_period_exceeded', ip);
      throw new InvalidGrant('Maximum exchange period exceeded');
    }
    if (family.revokedAt) throw new InvalidGrant('Refresh token has been revoked');
    if (token.expiresAt.getTime() <= now) throw new InvalidGrant('Refresh token has expired');

    const policy = await this.policy.get();
    const graceSeconds = policy.refreshTokenGraceSeconds;
    // A token known to be spent and past its grace window is reuse: end the family before anything else.
    if (token.rotatedAt && !withinGrace(token, graceSeconds, now)) await this.reuseDetected(family, ip);

    if (!user) {
      await this.endFamily(family, 'user_deleted', ip);
      throw new InvalidGrant('Invalid refresh token');
    }
    // SPEC §3.5: locked and disabled users cannot refresh.
    await this.policy.assertActive(user, { stage: 'session' }, policy);

    // RFC 6749 §6: the new refresh token keeps the presented token's scope; the access token may be narrower.
    const granted = parseScope(token.scope);
    const widened = (requestedScope ?? []).filter((s) => !granted.includes(s));
    if (widened.length) throw new InvalidScope(`Scope not granted to the refresh token: ${widened.join(' ')}`);
    // Scopes an administrator has since removed from the client are dropped silently.
    const allowed = client.allowedScopes();
    const tokenScope = granted.filter((s) => allowed.has(s));
    const scope = requestedScope ? requestedScope.filter((s) => allowed.has(s)) : tokenScope;

    // The response is signed first; its writes then commit together with the spending of the token,
    // or none of them do: a request that fails (a 503) has spent nothing and can be sent again.
    const deadlineStep = this.families.shortenExchangeDeadlineStep(family, deadline);
    const grant = { client, user, grantType: RefreshTokenGrant.grantType, ip };
    const prepared = await this.issuer.prepare({
      ...grant,
      scope,
      refreshScope: tokenScope,
      authTime: family.authTime,
      amr: family.amr.split(' ').filter(Boolean),
      options: params.issue,
      family,
    });
    const writes = deadlineStep ? [...prepared.steps, deadlineStep] : prepared.steps;
    // The decision: exactly one request spends the token; a concurrent or later one gets the grace retry or is reuse.
    const spent = !token.rotatedAt && (await this.sql.atomic([this.refreshTokens.rotateStep(token.tokenHash), ...writes])).committed;
    if (!spent) {
      const retried = graceSeconds > 0 && (await this.sql.atomic([this.refreshTokens.graceStep(token.tokenHash, graceSeconds), ...writes])).committed;
      if (!retried) await this.reuseDetected(family, ip);
    }
    this.issuer.recordIssued(grant, family, prepared);
    return prepared.response;
  }

  private async reuseDetected(family: TokenFamily, ip: string): Promise<never> {
    await this.endFamily(family, 'refresh_token_reuse', ip);
    throw new InvalidGrant('Refresh token has already been used');
  }

  private async endFamily(family: TokenFamily, reason: string, ip: string): Promise<void> {
    if (await this.families.end(family.id, reason)) {
      await this.audit.record({ type: 'token.family_ended', userId: family.userId, clientId: family.clientId, ip, details: { sid: family.id, reason } });
    }
  }
}

function withinGrace(token: RefreshToken, graceSeconds: number, nowMs: number): boolean {
  return graceSeconds > 0 && !token.graceUsedAt && !!token.rotatedAt && token.rotatedAt.getTime() >= nowMs - graceSeconds * 1000;
}

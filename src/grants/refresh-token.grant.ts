import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { InvalidGrant, InvalidRequest, InvalidScope } from '../oauth/errors';
import { parseScope, SCOPE_TOKEN } from '../oauth/scopes';
import { exchangeDeadline, exchangePeriodExceeded } from '../policy/exchange-period.check';
import { PolicyService } from '../policy/policy.service';
import { refreshRefusal } from '../policy/refresh.check';
import type { RefreshToken } from '../tokens/refresh-token.entity';
import { RefreshTokensService } from '../tokens/refresh-tokens.service';
import type { TokenFamily } from '../tokens/token-family.entity';
import type { TokenResponse } from '../tokens/tokens.service';
import { UsersService } from '../users/users.service';
import { GrantHandler, TokenRequest } from './grant-handler';
import { parseLifetimeParams } from './lifetime-params';
import { LoginTokenIssuer } from './login-token.issuer';
import { resolveTokenFormat } from './scope';

/**
 * RFC 6749 §6 with rotation (SPEC §3.5): every refresh spends the presented token and returns a new
 * one of the same family; presenting a spent token again ends the family (reuse detection, OAuth 2.0
 * Security BCP §4.14.2), except for one retry within the policy's grace window.
 */
@Injectable()
export class RefreshTokenGrant implements GrantHandler {
  readonly grantType = 'refresh_token' as const;
  readonly parameters = ['refresh_token', 'scope', 'refresh_expiry', 'max_exchange_period', 'token_format', 'app_tid'] as const;

  constructor(
    private readonly refreshTokens: RefreshTokensService,
    private readonly users: UsersService,
    private readonly policy: PolicyService,
    private readonly issuer: LoginTokenIssuer,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  async handle({ params, client, ip }: TokenRequest): Promise<TokenResponse> {
    const presented = params.refresh_token;
    if (presented === undefined) throw new InvalidRequest('refresh_token is required');
    // Every parameter is checked before the token is looked at, so a malformed request spends nothing.
    const lifetime = parseLifetimeParams(params);
    const format = resolveTokenFormat(client, params);
    const requestedScope = parseRequestedScope(params.scope);

    const token = await this.refreshTokens.find(presented);
    // Another client's token reads as unknown, and presenting it changes nothing (it proves nothing about the owner).
    if (!token || token.clientId !== client.clientId) throw new InvalidGrant('Invalid refresh token');
    const family = await this.refreshTokens.findFamily(token.familyId);
    if (!family || family.clientId !== client.clientId) throw new InvalidGrant('Invalid refresh token');

    const now = this.clock.nowMs();
    const deadline = exchangeDeadline(family, lifetime.maxExchangePeriodHours);
    if (exchangePeriodExceeded(deadline, now)) {
      await this.endFamily(family, 'exchange_period_exceeded', ip);
      throw new InvalidGrant('Maximum exchange period exceeded');
    }
    if (family.revokedAt) throw new InvalidGrant('Refresh token has been revoked');
    if (token.expiresAt.getTime() <= now) throw new InvalidGrant('Refresh token has expired');

    const policy = await this.policy.get();
    // A token known to be spent and past its grace window is reuse: end the family before anything else.
    if (token.rotatedAt && !withinGrace(token, policy.refreshTokenGraceSeconds, now)) await this.reuseDetected(family, ip);

    const user = await this.users.findById(family.userId);
    if (!user) {
      await this.endFamily(family, 'user_deleted', ip);
      throw new InvalidGrant('Invalid refresh token');
    }
    const refusal = refreshRefusal(user, policy, now);
    if (refusal) throw refusal;

    // RFC 6749 §6: the new refresh token keeps the presented token's scope; the access token may be narrower.
    const granted = parseScope(token.scope);
    const widened = (requestedScope ?? []).filter((s) => !granted.includes(s));
    if (widened.length) throw new InvalidScope(`Scope not granted to the refresh token: ${widened.join(' ')}`);
    // Scopes an administrator has since removed from the client are dropped silently.
    const allowed = client.allowedScopes();
    const tokenScope = granted.filter((s) => allowed.has(s));
    const scope = requestedScope ? requestedScope.filter((s) => allowed.has(s)) : tokenScope;

    // The decision: exactly one request spends the token; a concurrent or later one gets the grace retry or is reuse.
    const spent = !token.rotatedAt && (await this.refreshTokens.rotate(token.tokenHash));
    if (!spent && !(await this.refreshTokens.useGrace(token.tokenHash, policy.refreshTokenGraceSeconds))) {
      await this.reuseDetected(family, ip);
    }

    if (deadline.getTime() < family.exchangeDeadline.getTime()) {
      await this.refreshTokens.shortenExchangeDeadline(family.id, deadline);
      family.exchangeDeadline = deadline;
    }
    return this.issuer.respond({
      client,
      user,
      grantType: this.grantType,
      scope,
      refreshScope: tokenScope,
      authTime: family.authTime,
      amr: family.amr.split(' ').filter(Boolean),
      params,
      ip,
      family,
      format,
      refreshExpiry: lifetime.refreshExpiry,
    });
  }

  private async reuseDetected(family: TokenFamily, ip: string): Promise<never> {
    await this.endFamily(family, 'refresh_token_reuse', ip);
    throw new InvalidGrant('Refresh token has already been used');
  }

  private async endFamily(family: TokenFamily, reason: string, ip: string): Promise<void> {
    if (await this.refreshTokens.endFamily(family.id, reason)) {
      await this.audit.record({ type: 'token.family_ended', userId: family.userId, clientId: family.clientId, ip, details: { sid: family.id, reason } });
    }
  }
}

/** A scope parameter on refresh; absent means the refresh token's whole scope. */
function parseRequestedScope(scope: string | undefined): string[] | undefined {
  if (scope === undefined) return undefined;
  if (!scope.split(' ').every((s) => s === '' || SCOPE_TOKEN.test(s))) throw new InvalidScope('The scope parameter is malformed');
  const scopes = parseScope(scope);
  return scopes.length ? scopes : undefined;
}

function withinGrace(token: RefreshToken, graceSeconds: number, nowMs: number): boolean {
  return graceSeconds > 0 && !token.graceUsedAt && !!token.rotatedAt && token.rotatedAt.getTime() >= nowMs - graceSeconds * 1000;
}

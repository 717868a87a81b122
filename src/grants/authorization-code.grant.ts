import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import type { Client } from '../clients/client.entity';
import { InvalidGrant } from '../oauth/errors';
import { parseScope } from '../oauth/scopes';
import { PolicyService } from '../policy/policy.service';
import type { AuthorizationCode } from '../tokens/authorization-code.entity';
import { AuthorizationCodesService } from '../tokens/authorization-codes.service';
import { TokenFamiliesService } from '../sessions/token-families.service';
import type { User } from '../users/user.entity';
import type { GrantHandler, TokenRequest } from './grant-handler';
import { optionalString, requiredString } from './grant-parameters';
import { ISSUE_OPTIONS } from './issue-options';
import { LoginTokenIssuer } from './login-token.issuer';
import { pkceVerifies } from '../oauth/pkce';
import type { TokenResponse } from './token-response';

const INVALID_CODE = 'Invalid authorization code';

const PARAMETERS = {
  code: requiredString('code', 'The authorization code'),
  // The seeds document redirect_uri as required on every code exchange (see the README).
  redirectUri: requiredString('redirect_uri', 'The redirect_uri of the authorization request, exactly'),
  codeVerifier: optionalString('code_verifier', 'RFC 7636 PKCE verifier; required when the authorization request had a code_challenge'),
  issue: ISSUE_OPTIONS,
};

/**
 * RFC 6749 §4.1.3 with RFC 7636 PKCE (SPEC §3.4). The checks of the code's bindings (client,
 * redirect_uri, verifier) read immutable columns; the redemption itself is one conditional UPDATE,
 * and only the request whose UPDATE changed the row issues tokens. A presentation that passes the
 * binding checks after the code was redeemed is a replay: it fails and ends the family the first
 * redemption started.
 */
@Injectable()
export class AuthorizationCodeGrant implements GrantHandler<typeof PARAMETERS> {
  static readonly grantType = 'authorization_code';
  static readonly parameters = PARAMETERS;
  static readonly example = {
    code: 'the code from the redirect',
    redirect_uri: 'https://app.example.com/callback',
    code_verifier: 'the PKCE code_verifier of the authorization request',
  };

  constructor(
    private readonly codes: AuthorizationCodesService,
    private readonly families: TokenFamiliesService,
    private readonly policies: PolicyService,
    private readonly issuer: LoginTokenIssuer,
    private readonly audit: AuditService,
  ) {}

  async handle({ params, client, ip }: TokenRequest<typeof PARAMETERS>): Promise<TokenResponse> {
    // The code and its user in one read.
    const found = await this.codes.findWithUser<User>(params.code);
    const code = found?.code;
    // A code of another client reads like an unknown one (RFC 6749 §4.1.3).
    if (!code || code.clientId !== client.clientId) throw new InvalidGrant(INVALID_CODE);
    if (params.redirectUri !== code.redirectUri) throw new InvalidGrant('redirect_uri does not match the authorization request');
    this.checkPkce(code, client, params.codeVerifier);

    // A code known to be spent is a replay, whatever else is wrong with the request now.
    if (code.consumedAt) await this.replayed(code, ip);

    const user = found!.user;
    if (!user) throw new InvalidGrant(INVALID_CODE);
    // The user logged in minutes ago; an account locked or disabled since gets no tokens.
    await this.policies.assertActive(user, { stage: 'session' });

    // The redemption (one conditional UPDATE: exactly one request changes the row) and the family
    // and tokens it issues commit together or not at all: a failure leaves the code unspent, to be retried.
    const response = await this.issuer.issueAfter(
      {
        client,
        user,
        grantType: AuthorizationCodeGrant.grantType,
        scope: parseScope(code.scope),
        authTime: code.authTime,
        amr: code.amr.split(' ').filter(Boolean),
        nonce: code.nonce,
        options: params.issue,
        codeHash: code.codeHash,
        browserSessionId: code.browserSessionId,
        ip,
      },
      [this.codes.consumeStep(code.codeHash)],
    );
    if (!response) {
      if (await this.codes.isConsumed(code.codeHash)) await this.replayed(code, ip);
      throw new InvalidGrant('Authorization code has expired');
    }
    // A replay that arrived while these tokens were being issued found no family to revoke yet.
    if (await this.codes.wasReplayed(code.codeHash)) await this.families.endForCode(code.codeHash, 'authorization_code_reuse');
    return response;
  }

  /** RFC 7636 §4.6; public clients and clients with require_pkce never redeem a code without it. */
  private checkPkce(code: AuthorizationCode, client: Client, verifier: string | undefined): void {
    if (!code.codeChallenge) {
      // A verifier without a challenge would let an attacker strip PKCE from the authorization request.
      if (verifier !== undefined) throw new InvalidGrant('code_verifier was sent but the authorization request had no code_challenge');
      if (client.isPublic || client.requirePkce) throw new InvalidGrant('PKCE is required for this client');
      return;
    }
    if (verifier === undefined) throw new InvalidGrant('code_verifier is required');
    if (!pkceVerifies(code.codeChallengeMethod ?? 'plain', code.codeChallenge, verifier)) {
      throw new InvalidGrant('code_verifier does not match the code_challenge');
    }
  }

  private async replayed(code: AuthorizationCode, ip: string): Promise<never> {
    await this.codes.recordReplay(code.codeHash, code.expiresAt);
    const revoked = await this.families.endForCode(code.codeHash, 'authorization_code_reuse');
    await this.audit.record({
      type: 'authorization_code.reused',
      userId: code.userId,
      clientId: code.clientId,
      ip,
      details: { revoked_families: revoked },
    });
    throw new InvalidGrant('Authorization code has already been used');
  }
}

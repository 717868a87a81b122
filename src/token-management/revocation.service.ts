import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import type { Client } from '../clients/client.entity';
import { TokenFamiliesService } from '../sessions/token-families.service';
import { AccessTokensService } from '../tokens/access-tokens.service';
import { RefreshTokensService } from '../tokens/refresh-tokens.service';

/**
 * Revocation (SPEC §4, RFC 7009). A refresh token ends its family, and with it every access token
 * of that login; an access token is revoked on its own. Unknown tokens and other clients' tokens
 * change nothing, and the caller answers 200 either way (RFC 7009 §2.2).
 */
@Injectable()
export class RevocationService {
  constructor(
    private readonly accessTokens: AccessTokensService,
    private readonly refreshTokens: RefreshTokensService,
    private readonly families: TokenFamiliesService,
    private readonly audit: AuditService,
  ) {}

  async revoke(token: string, tokenTypeHint: string | undefined, client: Client, ip: string): Promise<void> {
    const attempts = [() => this.revokeRefreshToken(token, client, ip), () => this.revokeAccessToken(token, client, ip)];
    // RFC 7009 §2.1: the hint only says where to look first.
    if (tokenTypeHint === 'access_token') attempts.reverse();
    for (const attempt of attempts) if (await attempt()) return;
  }

  /** True when the token is a refresh token, whether or not this client may revoke it. */
  private async revokeRefreshToken(token: string, client: Client, ip: string): Promise<boolean> {
    const row = await this.refreshTokens.find(token);
    if (!row) return false;
    if (row.clientId !== client.clientId) return true;
    // Even a spent token ends its family: the client is saying this login is over.
    if (await this.families.end(row.familyId, 'revoked')) {
      const family = await this.families.find(row.familyId);
      await this.audit.record({
        type: 'token.revoked',
        userId: family?.userId,
        clientId: client.clientId,
        ip,
        details: { token_type: 'refresh_token', sid: row.familyId },
      });
    }
    return true;
  }

  private async revokeAccessToken(token: string, client: Client, ip: string): Promise<boolean> {
    const revoked = await this.accessTokens.revoke(token, client.clientId);
    if (!revoked) return false;
    await this.audit.record({
      type: 'token.revoked',
      userId: revoked.userId,
      clientId: client.clientId,
      ip,
      details: { token_type: 'access_token', format: revoked.format, jti: revoked.jti, ...(revoked.familyId ? { sid: revoked.familyId } : {}) },
    });
    return true;
  }
}

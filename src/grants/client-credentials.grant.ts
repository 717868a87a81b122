import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { UnauthorizedClient } from '../oauth/errors';
import { formatScope } from '../oauth/scopes';
import { TokenResponse, TokensService } from '../tokens/tokens.service';
import { GrantHandler, TokenRequest } from './grant-handler';
import { resolveScope, resolveTokenFormat } from './scope';

/** RFC 6749 §4.4: a confidential client acting for itself. No refresh token, no id_token; sub is the client_id. */
@Injectable()
export class ClientCredentialsGrant implements GrantHandler {
  readonly grantType = 'client_credentials' as const;
  readonly parameters = ['scope', 'token_format'] as const;

  constructor(
    private readonly tokens: TokensService,
    private readonly audit: AuditService,
  ) {}

  async handle({ params, client, ip }: TokenRequest): Promise<TokenResponse> {
    if (client.isPublic) throw new UnauthorizedClient('The client_credentials grant needs a confidential client');
    const scope = resolveScope(client, params.scope, ['openid', 'offline_access']);
    const format = resolveTokenFormat(client, params);
    const access = await this.tokens.issueAccessToken({ client, scope, format });
    await this.audit.record({ type: 'token.issued', clientId: client.clientId, ip, details: { grant_type: this.grantType, jti: access.jti } });
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, scope: formatScope(scope) };
  }
}

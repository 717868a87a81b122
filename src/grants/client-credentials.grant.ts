import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { UnauthorizedClient } from '../oauth/errors';
import { formatScope } from '../oauth/scopes';
import { AccessTokensService } from '../tokens/access-tokens.service';
import type { GrantHandler, TokenRequest } from './grant-handler';
import { requestedScope } from './grant-parameters';
import { TOKEN_FORMAT } from './issue-options';
import type { TokenResponse } from './token-response';

const PARAMETERS = {
  scope: requestedScope(['openid', 'offline_access']),
  format: TOKEN_FORMAT,
};

/** RFC 6749 §4.4: a confidential client acting for itself. No refresh token, no id_token; sub is the client_id. */
@Injectable()
export class ClientCredentialsGrant implements GrantHandler<typeof PARAMETERS> {
  static readonly grantType = 'client_credentials';
  static readonly parameters = PARAMETERS;
  static readonly example = { scope: 'admin' };

  constructor(
    private readonly accessTokens: AccessTokensService,
    private readonly audit: AuditService,
  ) {}

  async handle({ params, client, ip }: TokenRequest<typeof PARAMETERS>): Promise<TokenResponse> {
    if (client.isPublic) throw new UnauthorizedClient('The client_credentials grant needs a confidential client');
    const access = await this.accessTokens.issue({ client, scope: params.scope, format: params.format });
    this.audit.recordTokenIssued({ clientId: client.clientId, ip, details: { grant_type: ClientCredentialsGrant.grantType, jti: access.jti } });
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, scope: formatScope(params.scope) };
  }
}

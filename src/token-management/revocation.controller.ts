import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBasicAuth, ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CLIENT_AUTH_BODY_PROPERTIES, CLIENT_AUTH_DESCRIPTION } from '../client-auth/client-auth-methods';
import { ClientAuthentication, type ClientRequest } from '../client-auth/client-authentication';
import { InvalidRequest } from '../oauth/errors';
import { ApiOtherMethodsRefused, OAUTH_ENDPOINTS } from '../oauth/endpoints';
import { oauthParams } from '../oauth/form';
import { LeanRoute } from '../oauth/lean-routes';
import { RevocationService } from './revocation.service';

@ApiTags('OAuth 2.0')
@ApiOtherMethodsRefused(OAUTH_ENDPOINTS.revocation)
@Controller()
export class RevocationController {
  constructor(
    private readonly revocation: RevocationService,
    private readonly authentication: ClientAuthentication,
  ) {}

  @Post(OAUTH_ENDPOINTS.revocation.paths)
  @HttpCode(200)
  @LeanRoute()
  @ApiOperation({
    summary: 'Token revocation (RFC 7009)',
    description:
      'Form-encoded, client-authenticated as at the token endpoint. A refresh token ends its whole family (the login ' +
      'session): every refresh token and every access token issued from it stops working. An access token is revoked ' +
      `on its own. Unknown tokens and other clients' tokens also get 200, and nothing changes. ${CLIENT_AUTH_DESCRIPTION}`,
  })
  @ApiBasicAuth('client')
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['token'],
      properties: {
        token: { type: 'string', description: 'A refresh token or an access token (JWT or opaque)' },
        token_type_hint: { type: 'string', enum: ['refresh_token', 'access_token'], description: 'Where to look first; never required' },
        ...CLIENT_AUTH_BODY_PROPERTIES,
      },
    },
  })
  @ApiOkResponse({ description: 'Revoked, or nothing to revoke (empty body)' })
  @ApiResponse({ status: 400, description: 'invalid_request: "token is required", or a malformed request' })
  @ApiResponse({ status: 401, description: 'invalid_client: "Bad client credentials"' })
  @ApiResponse({ status: 429, description: 'too_many_requests (Retry-After): too many failed authentications of this client from this address this minute' })
  async revoke(@Req() req: ClientRequest): Promise<void> {
    const params = oauthParams(req);
    const client = await this.authentication.authenticate(req, { confidentialClientsOnly: false });
    if (params.token === undefined) throw new InvalidRequest('token is required');
    await this.revocation.revoke(params.token, params.token_type_hint, client, req.ip);
  }
}

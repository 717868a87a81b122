import { Controller, Delete, Get, HttpCode, Patch, Post, Put, Req, UseGuards } from '@nestjs/common';
import { ApiBasicAuth, ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CLIENT_AUTH_BODY_PROPERTIES, CLIENT_AUTH_DESCRIPTION } from '../clients/auth/client-auth-methods';
import { ClientAuthGuard, type ClientRequest } from '../clients/auth/client-auth.guard';
import { InvalidRequest } from '../oauth/errors';
import { OAuthFormGuard, oauthParams } from '../oauth/form';
import { RevocationService } from './revocation.service';

export const REVOCATION_PATH = 'oauth2/revoke';

@ApiTags('OAuth 2.0')
@Controller()
export class RevocationController {
  constructor(private readonly revocation: RevocationService) {}

  @Post(REVOCATION_PATH)
  @HttpCode(200)
  @UseGuards(OAuthFormGuard, ClientAuthGuard)
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
  async revoke(@Req() req: ClientRequest): Promise<void> {
    const params = oauthParams(req);
    if (params.token === undefined) throw new InvalidRequest('token is required');
    await this.revocation.revoke(params.token, params.token_type_hint, req.client!, req.ip);
  }

  /** Any other method: 405 with an OAuth error body. */
  @Get(REVOCATION_PATH)
  @Put(REVOCATION_PATH)
  @Patch(REVOCATION_PATH)
  @Delete(REVOCATION_PATH)
  @ApiOperation({ summary: 'Any method but POST: 405 invalid_request', deprecated: true })
  wrongMethod(): never {
    throw new InvalidRequest('The revocation endpoint accepts only POST', 405).withHeader('Allow', 'POST');
  }
}

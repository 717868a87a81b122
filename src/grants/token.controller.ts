import { Controller, Delete, Get, HttpCode, Patch, Post, Put, Req, UseGuards } from '@nestjs/common';
import { ApiBasicAuth, ApiBody, ApiConsumes, ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CLIENT_AUTH_BODY_PROPERTIES, CLIENT_AUTH_DESCRIPTION } from '../clients/auth/client-auth-methods';
import { ClientAuthGuard, type ClientRequest } from '../clients/auth/client-auth.guard';
import { OAuthFormGuard, oauthParams } from '../oauth/form';
import { InvalidRequest } from '../oauth/errors';
import { GrantRegistry } from './grant-registry';
import { grantFieldsSchema } from './grants';
import type { TokenResponse } from './token-response';

export const TOKEN_PATHS = ['oauth2/token', 'oidc/token', 'api/v1/oauth2/token'];

@ApiTags('OAuth 2.0')
@Controller()
export class TokenController {
  constructor(private readonly grants: GrantRegistry) {}

  @Post(TOKEN_PATHS)
  @HttpCode(200)
  @UseGuards(OAuthFormGuard, ClientAuthGuard)
  @ApiOperation({
    summary: 'Token endpoint (RFC 6749 §3.2)',
    description: `Form-encoded. ${CLIENT_AUTH_DESCRIPTION}`,
  })
  @ApiBasicAuth('client')
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ schema: { type: 'object', required: ['grant_type'], properties: { ...grantFieldsSchema(), ...CLIENT_AUTH_BODY_PROPERTIES } } })
  @ApiOkResponse({ description: '{"access_token", "token_type": "Bearer", "expires_in", "scope", "refresh_token"?, "refresh_expires_in"?, "id_token"?}' })
  @ApiResponse({ status: 400, description: 'invalid_request, invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope' })
  @ApiResponse({ status: 401, description: 'invalid_client: "Bad client credentials"' })
  @ApiResponse({ status: 429, description: 'too_many_requests: too many failed password logins from the client address this minute (Retry-After)' })
  token(@Req() req: ClientRequest): Promise<TokenResponse> {
    return this.grants.handle(oauthParams(req), req.client!, req.ip);
  }

  // Any other method: 405 with an OAuth error body. One handler per method: stacked method
  // decorators on a single handler register only the last one.
  @Get(TOKEN_PATHS)
  @ApiOperation({ summary: 'Any method but POST: 405 invalid_request', deprecated: true })
  get(): never {
    return wrongMethod();
  }

  @Put(TOKEN_PATHS)
  @ApiExcludeEndpoint()
  put(): never {
    return wrongMethod();
  }

  @Patch(TOKEN_PATHS)
  @ApiExcludeEndpoint()
  patch(): never {
    return wrongMethod();
  }

  @Delete(TOKEN_PATHS)
  @ApiExcludeEndpoint()
  delete(): never {
    return wrongMethod();
  }
}

function wrongMethod(): never {
  throw new InvalidRequest('The token endpoint accepts only POST', 405).withHeader('Allow', 'POST');
}

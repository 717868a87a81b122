import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBasicAuth, ApiBody, ApiConsumes, ApiHeader, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CLIENT_AUTH_BODY_PROPERTIES, CLIENT_AUTH_DESCRIPTION } from '../client-auth/client-auth-methods';
import { ClientAuthentication, type ClientRequest } from '../client-auth/client-authentication';
import { ApiOtherMethodsRefused, OAUTH_ENDPOINTS } from '../oauth/endpoints';
import { oauthParams } from '../oauth/form';
import { LeanRoute } from '../oauth/lean-routes';
import { END_USER_IP_HEADER, forwardedEndUserIp } from './end-user-ip';
import { GrantRegistry } from './grant-registry';
import { grantFieldsSchema, grantRequestExamples, grantsDescription } from './grants';
import type { TokenResponse } from './token-response';

/** The token endpoint (RFC 6749 §3.2): form parameters, client authentication, then the grant. A lean route (oauth/lean-routes.ts). */
@ApiTags('OAuth 2.0')
@ApiOtherMethodsRefused(OAUTH_ENDPOINTS.token)
@Controller()
export class TokenController {
  constructor(
    private readonly authentication: ClientAuthentication,
    private readonly grants: GrantRegistry,
  ) {}

  @Post(OAUTH_ENDPOINTS.token.paths)
  @HttpCode(200)
  @LeanRoute()
  @ApiOperation({
    summary: 'Token endpoint (RFC 6749 §3.2)',
    description: `Form-encoded.\n\n${grantsDescription()}\n\n${CLIENT_AUTH_DESCRIPTION}`,
  })
  @ApiBasicAuth('client')
  @ApiHeader({
    name: END_USER_IP_HEADER,
    required: false,
    description:
      'The end user\'s IPv4 or IPv6 address, forwarded by a confidential client registered with `trust_end_user_ip_header: true`: ' +
      'its failed password logins then also count per (client, this address) under LOGIN_RATE_LIMIT, and audit events record this address. ' +
      'Anything but one address is `400 invalid_request`. Ignored for every other client.',
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({
    schema: { type: 'object', required: ['grant_type'], properties: { ...grantFieldsSchema(), ...CLIENT_AUTH_BODY_PROPERTIES } },
    examples: grantRequestExamples(),
  })
  @ApiOkResponse({ description: '{"access_token", "token_type": "Bearer", "expires_in", "scope", "refresh_token"?, "refresh_expires_in"?, "id_token"?}' })
  @ApiResponse({ status: 400, description: 'invalid_request, invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope' })
  @ApiResponse({ status: 401, description: 'invalid_client: "Bad client credentials"' })
  @ApiResponse({
    status: 429,
    description:
      'too_many_requests (Retry-After): too many failed password logins this minute from the end user\'s address (public clients), ' +
      'for the client (confidential clients, LOGIN_RATE_LIMIT_PER_CLIENT), or from the forwarded end-user address of a trusting client; or too many ' +
      'failed authentications of this client from this address this minute (CLIENT_AUTH_FAILURE_LIMIT)',
  })
  async token(@Req() req: ClientRequest): Promise<TokenResponse> {
    // Form-encoded, no repeated parameter (RFC 6749 §3.2), before anything reads them.
    const params = oauthParams(req);
    const client = await this.authentication.authenticate(req, { confidentialClientsOnly: false });
    return this.grants.handle(params, client, req.ip, forwardedEndUserIp(req.headers, client));
  }
}

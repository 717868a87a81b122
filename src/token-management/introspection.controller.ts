import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBasicAuth, ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CLIENT_AUTH_BODY_PROPERTIES, CONFIDENTIAL_CLIENT_AUTH_DESCRIPTION } from '../client-auth/client-auth-methods';
import { ClientAuthentication, type ClientRequest } from '../client-auth/client-authentication';
import { InvalidRequest } from '../oauth/errors';
import { ApiOtherMethodsRefused, OAUTH_ENDPOINTS } from '../oauth/endpoints';
import { oauthParams } from '../oauth/form';
import { LeanRoute } from '../oauth/lean-routes';
import { IntrospectionResponse, IntrospectionService } from './introspection.service';

@ApiTags('OAuth 2.0')
@ApiOtherMethodsRefused(OAUTH_ENDPOINTS.introspection)
@Controller()
export class IntrospectionController {
  constructor(
    private readonly introspection: IntrospectionService,
    private readonly authentication: ClientAuthentication,
  ) {}

  @Post(OAUTH_ENDPOINTS.introspection.paths)
  @HttpCode(200)
  @LeanRoute()
  @ApiOperation({
    summary: 'Token introspection (RFC 7662)',
    description:
      'Form-encoded, client-authenticated as at the token endpoint, by confidential clients only: a public client (none) ' +
      'is invalid_client. Answers for the access tokens (JWT and opaque) and refresh tokens issued to the calling client, ' +
      'and for access tokens whose aud contains its client_id (a resource server registered as a client); refresh tokens ' +
      'only to their own client. Expired, revoked, spent, unknown and other tokens all read exactly {"active":false}. ' +
      CONFIDENTIAL_CLIENT_AUTH_DESCRIPTION,
  })
  @ApiBasicAuth('client')
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['token'],
      properties: {
        token: { type: 'string', description: 'An access token (JWT or opaque) or a refresh token' },
        token_type_hint: { type: 'string', enum: ['access_token', 'refresh_token'], description: 'Where to look first; never required' },
        ...CLIENT_AUTH_BODY_PROPERTIES,
      },
    },
  })
  @ApiOkResponse({
    description: 'Token metadata',
    schema: {
      type: 'object',
      required: ['active'],
      properties: {
        active: { type: 'boolean' },
        scope: { type: 'string' },
        client_id: { type: 'string' },
        username: { type: 'string' },
        token_type: { type: 'string', enum: ['Bearer', 'refresh_token'] },
        exp: { type: 'integer' },
        iat: { type: 'integer' },
        sub: { type: 'string' },
        aud: {
          oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
          description: 'Access tokens only: the audience, or an array when the client registered several',
        },
        iss: { type: 'string' },
        jti: { type: 'string', description: 'Access tokens only' },
        auth_time: { type: 'integer' },
        sid: { type: 'string', description: 'The login session (token family)' },
      },
    },
  })
  @ApiResponse({ status: 400, description: 'invalid_request: "token is required", or a malformed request' })
  @ApiResponse({ status: 401, description: 'invalid_client: "Bad client credentials", also for a public client' })
  @ApiResponse({ status: 429, description: 'too_many_requests (Retry-After): too many failed authentications of this client from this address this minute' })
  async introspect(@Req() req: ClientRequest): Promise<IntrospectionResponse> {
    const params = oauthParams(req);
    // For confidential clients only: a public client (none) proves nothing about who calls (RFC 7662 §2.1).
    const client = await this.authentication.authenticate(req, { confidentialClientsOnly: true });
    if (params.token === undefined) throw new InvalidRequest('token is required');
    return this.introspection.introspect(params.token, params.token_type_hint, client);
  }
}

import { Controller, Delete, Get, HttpCode, Patch, Post, Put, Req, UseGuards } from '@nestjs/common';
import { ApiBasicAuth, ApiBody, ApiConsumes, ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CLIENT_AUTH_BODY_PROPERTIES, CLIENT_AUTH_DESCRIPTION } from '../clients/auth/client-auth-methods';
import { ClientAuthGuard, type ClientRequest } from '../clients/auth/client-auth.guard';
import { OAuthFormGuard, oauthParams } from '../oauth/form';
import { InvalidRequest } from '../oauth/errors';
import type { TokenResponse } from '../tokens/tokens.service';
import { GrantRegistry } from './grant-registry';

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
  @ApiBody({
    schema: {
      type: 'object',
      required: ['grant_type'],
      properties: {
        grant_type: { type: 'string', enum: ['client_credentials', 'password', 'authorization_code', 'refresh_token'] },
        ...CLIENT_AUTH_BODY_PROPERTIES,
        scope: { type: 'string' },
        token_format: { type: 'string', enum: ['jwt', 'opaque'] },
        username: { type: 'string', description: 'password grant: matches username, then email, then phone number; exclusive with email and phone' },
        email: { type: 'string', description: 'password grant: matches the email only (case-insensitive)' },
        phone: { type: 'string', description: 'password grant: matches the phone number only (E.164 after normalisation)' },
        password: {
          type: 'string',
          description: 'password grant: the password, encrypted when password_encrypt_type says so; with MFA required and a TOTP enrolled, followed by the 6-digit code',
        },
        password_encrypt_type: {
          type: 'string',
          enum: ['none', 'rsa', 'sm2'],
          default: 'none',
          description: 'password grant: rsa = base64 RSA-OAEP-256 ciphertext, sm2 = hex SM2 C1C3C2 ciphertext, under the keys of GET /oauth2/password-encryption-keys',
        },
        refresh_token: { type: 'string', description: 'refresh_token grant: the refresh token to rotate' },
        refresh_expiry: { type: 'integer', description: 'Seconds; shortens the refresh token lifetime, 0 = no refresh token' },
        max_exchange_period: { type: 'integer', minimum: 1, maximum: 4320, description: 'Hours the login may be refreshed; a smaller value than the client policy sticks' },
        app_tid: { type: 'string', description: 'Reserved: accepted and ignored' },
      },
    },
  })
  @ApiOkResponse({ description: '{"access_token", "token_type": "Bearer", "expires_in", "scope", "refresh_token"?, "refresh_expires_in"?, "id_token"?}' })
  @ApiResponse({ status: 400, description: 'invalid_request, invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope' })
  @ApiResponse({ status: 401, description: 'invalid_client: "Bad client credentials"' })
  @ApiResponse({ status: 429, description: 'too_many_requests: too many failed password logins from the client address this minute (Retry-After)' })
  token(@Req() req: ClientRequest): Promise<TokenResponse> {
    return this.grants.handle({ params: oauthParams(req), client: req.client!, ip: req.ip });
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

import { Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { Client } from '../clients/client.entity';
import { presentedAccessToken } from '../oauth/bearer-token';
import { ApiOtherMethodsRefused, OAUTH_ENDPOINTS } from '../oauth/endpoints';
import { LeanRoute } from '../oauth/lean-routes';
import { UserInfoService } from './userinfo.service';

/** `client`: the access token's client, once UserInfo knows it (for CORS, SPEC §4). */
type UserInfoRequest = FastifyRequest & { client?: Client };

@ApiTags('OpenID Connect')
@ApiBearerAuth('access_token')
@ApiOtherMethodsRefused(OAUTH_ENDPOINTS.userinfo)
@Controller()
export class UserInfoController {
  constructor(private readonly userinfo: UserInfoService) {}

  @Get(OAUTH_ENDPOINTS.userinfo.paths)
  @LeanRoute()
  @ApiOperation({
    summary: 'UserInfo (OIDC Core §5.3)',
    description:
      'The user of the bearer access token (JWT or opaque): `sub` plus the claims of the scopes the token carries ' +
      '(profile, email, phone, address, groups), exactly as in the id_token. The token needs the `openid` scope.',
  })
  @ApiOkResponse({ description: '{"sub", ...claims by scope}' })
  @ApiUnauthorizedResponse({ description: 'invalid_token, with `WWW-Authenticate: Bearer error="invalid_token"`: missing, malformed, expired or revoked token, or a token without a user' })
  @ApiForbiddenResponse({ description: 'insufficient_scope: the token lacks `openid`' })
  @ApiResponse({ status: 400, description: 'invalid_request: the token was sent both in the header and in the body' })
  get(@Req() req: UserInfoRequest): Promise<Record<string, unknown>> {
    return this.userinfo.claims(presentedAccessToken(req), req);
  }

  @Post(OAUTH_ENDPOINTS.userinfo.paths)
  @HttpCode(200)
  @LeanRoute()
  @ApiOperation({ summary: 'UserInfo (OIDC Core §5.3) by POST', description: 'As GET; the token may also be the `access_token` form parameter (RFC 6750 §2.2).' })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ required: false, schema: { type: 'object', properties: { access_token: { type: 'string' } } } })
  @ApiOkResponse({ description: '{"sub", ...claims by scope}' })
  @ApiUnauthorizedResponse({ description: 'invalid_token, with `WWW-Authenticate: Bearer error="invalid_token"`' })
  @ApiForbiddenResponse({ description: 'insufficient_scope: the token lacks `openid`' })
  @ApiResponse({ status: 400, description: 'invalid_request: the token was sent both in the header and in the body' })
  post(@Req() req: UserInfoRequest): Promise<Record<string, unknown>> {
    return this.userinfo.claims(presentedAccessToken(req), req);
  }
}

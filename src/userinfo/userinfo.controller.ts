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
import { InvalidRequest, InvalidToken, MissingToken } from '../oauth/errors';
import { ApiOtherMethodsRefused, OAUTH_ENDPOINTS } from '../oauth/endpoints';
import { mediaType } from '../oauth/form';
import { INVALID_TOKEN, UserInfoService } from './userinfo.service';

const BEARER_HEADER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The access token of a resource request (RFC 6750): the `Authorization: Bearer` header (§2.1) or,
 * on a form-encoded POST, the `access_token` body parameter (§2.2). Using both is invalid_request.
 */
export function presentedAccessToken(req: FastifyRequest): string {
  const header = req.headers.authorization;
  let fromHeader: string | undefined;
  if (header && /^Bearer\b/i.test(header)) {
    fromHeader = BEARER_HEADER.exec(header)?.[1];
    if (!fromHeader) throw new InvalidToken(INVALID_TOKEN);
  }
  let fromBody: string | undefined;
  if (req.method === 'POST' && mediaType(req) === 'application/x-www-form-urlencoded') {
    const value = (req.body as Record<string, unknown> | undefined)?.access_token;
    if (Array.isArray(value)) throw bearerInvalidRequest('Parameter "access_token" must not be repeated');
    if (typeof value === 'string' && value !== '') fromBody = value;
  }
  if (fromHeader !== undefined && fromBody !== undefined) {
    throw bearerInvalidRequest('The access token must be sent in one way only, not in both the header and the body');
  }
  const token = fromHeader ?? fromBody;
  if (!token) throw new MissingToken();
  return token;
}

function bearerInvalidRequest(description: string): InvalidRequest {
  return new InvalidRequest(description).withHeader('WWW-Authenticate', `Bearer error="invalid_request", error_description="${description}"`);
}

@ApiTags('OpenID Connect')
@ApiBearerAuth('access_token')
@ApiOtherMethodsRefused(OAUTH_ENDPOINTS.userinfo)
@Controller()
export class UserInfoController {
  constructor(private readonly userinfo: UserInfoService) {}

  @Get(OAUTH_ENDPOINTS.userinfo.paths)
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
  get(@Req() req: FastifyRequest): Promise<Record<string, unknown>> {
    return this.userinfo.claims(presentedAccessToken(req));
  }

  @Post(OAUTH_ENDPOINTS.userinfo.paths)
  @HttpCode(200)
  @ApiOperation({ summary: 'UserInfo (OIDC Core §5.3) by POST', description: 'As GET; the token may also be the `access_token` form parameter (RFC 6750 §2.2).' })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ required: false, schema: { type: 'object', properties: { access_token: { type: 'string' } } } })
  @ApiOkResponse({ description: '{"sub", ...claims by scope}' })
  @ApiUnauthorizedResponse({ description: 'invalid_token, with `WWW-Authenticate: Bearer error="invalid_token"`' })
  @ApiForbiddenResponse({ description: 'insufficient_scope: the token lacks `openid`' })
  @ApiResponse({ status: 400, description: 'invalid_request: the token was sent both in the header and in the body' })
  post(@Req() req: FastifyRequest): Promise<Record<string, unknown>> {
    return this.userinfo.claims(presentedAccessToken(req));
  }
}

import { applyDecorators, Controller, Get, Post, Req, Res, UseFilters } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiSeeOtherResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiOtherMethodsRefused, OAUTH_ENDPOINTS } from '../oauth/endpoints';
import { collectParams } from './authorization-request';
import { AuthorizePageFilter } from './authorize-page.filter';
import { AuthorizeInput, AuthorizeService } from './authorize.service';
import { acceptsForm, requestedPath, sendOutcome } from './html-response';

const REQUEST_PARAMETERS: { name: string; required?: boolean; description: string; enum?: string[] }[] = [
  { name: 'response_type', required: true, description: 'Only `code`', enum: ['code'] },
  { name: 'client_id', required: true, description: 'A registered, enabled client with the authorization_code grant' },
  { name: 'redirect_uri', description: 'Exact match of a registered URI; may be left out when the client has exactly one' },
  { name: 'scope', description: "Space-separated; the client's default_scope when absent" },
  { name: 'state', description: 'Returned unchanged with the code or the error' },
  { name: 'nonce', description: 'Copied into the id_token (at most 512 characters)' },
  { name: 'code_challenge', description: 'RFC 7636; required for public clients and clients with require_pkce' },
  { name: 'code_challenge_method', description: '`S256`; `plain` only for clients with allow_pkce_plain', enum: ['S256', 'plain'] },
  { name: 'response_mode', description: '`query` (default): a redirect; `form_post`: a page that posts the response to redirect_uri', enum: ['query', 'form_post'] },
  {
    name: 'prompt',
    description: '`none`: a code from the browser\'s single sign-on session, or error=login_required; `login`: the login form even with a live session',
  },
  { name: 'max_age', description: 'Seconds: a single sign-on session whose last login is older shows the login form again' },
  { name: 'login_hint', description: 'Pre-fills the username field' },
];

const ApiAuthorizationQuery = () =>
  applyDecorators(...REQUEST_PARAMETERS.map((p) => ApiQuery({ name: p.name, required: !!p.required, description: p.description, ...(p.enum ? { enum: p.enum } : {}) })));

const PAGE = 'The hosted login page (HTML form with username, password, an optional one-time code and a CSRF token)';
const ERROR_PAGE = 'HTML error page, never a redirect: missing, unknown or disabled client, unregistered or missing redirect_uri';
const REDIRECT =
  'With a live single sign-on session (cookie), redirect_uri?code=…&state=…&iss=… without the form. Errors: redirect_uri?error=…&error_description=…&state=…&iss=… (invalid_request, unsupported_response_type, unauthorized_client, ' +
  'invalid_scope, login_required, access_denied, request_not_supported, request_uri_not_supported)';

/** RFC 6749 §3.1 / OIDC Core §3.1.2.1: GET and POST (form-serialized) authorization requests. */
@ApiTags('OAuth 2.0')
@ApiOtherMethodsRefused(OAUTH_ENDPOINTS.authorization)
@Controller()
@UseFilters(AuthorizePageFilter)
export class AuthorizeController {
  constructor(private readonly authorize: AuthorizeService) {}

  @Get(OAUTH_ENDPOINTS.authorization.paths)
  @ApiOperation({ summary: 'Authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1.2): shows the login page' })
  @ApiAuthorizationQuery()
  @ApiProduces('text/html')
  @ApiOkResponse({ description: PAGE })
  @ApiFoundResponse({ description: REDIRECT })
  @ApiBadRequestResponse({ description: ERROR_PAGE })
  async get(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    sendOutcome(reply, 'GET', await this.authorize.handle(this.input(req, 'GET', req.query)));
  }

  @Post(OAUTH_ENDPOINTS.authorization.paths)
  @ApiOperation({
    summary: 'Authorization request by POST, and the login form submission',
    description:
      'Without login fields this is an OIDC form-serialized authorization request and shows the login page. ' +
      'With them (username, password, otp, csrf_token, action) it is the login form: a correct login answers ' +
      '303 redirect_uri?code=…&state=…&iss=…; a refused one shows the page again with the password grant\'s error_description.',
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({
    schema: {
      type: 'object',
      properties: {
        ...Object.fromEntries(REQUEST_PARAMETERS.map((p) => [p.name, { type: 'string', description: p.description, ...(p.enum ? { enum: p.enum } : {}) }])),
        username: { type: 'string', description: 'Username, email or phone number' },
        password: { type: 'string', format: 'password' },
        otp: {
          type: 'string',
          description: 'Optional TOTP code (6 digits) for users who must give one; it may instead be appended to the password',
        },
        csrf_token: { type: 'string', description: 'From the login page; bound to the browser cookie and the request parameters' },
        action: { type: 'string', enum: ['login', 'cancel'], description: 'cancel answers error=access_denied' },
      },
      required: ['client_id', 'response_type'],
    },
  })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: PAGE })
  @ApiSeeOtherResponse({ description: `Login succeeded: redirect_uri?code=…&state=…&iss=…; or ${REDIRECT}` })
  @ApiBadRequestResponse({ description: `${ERROR_PAGE}; or the login page again with a message (wrong credentials, locked, disabled, expired password, expired form)` })
  @ApiTooManyRequestsResponse({ description: 'The login page again: too many failed logins from the client address this minute' })
  async post(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!acceptsForm(req, reply)) return;
    sendOutcome(reply, 'POST', await this.authorize.handle(this.input(req, 'POST', req.body)));
  }

  private input(req: FastifyRequest, method: 'GET' | 'POST', source: unknown): AuthorizeInput {
    return {
      method,
      params: collectParams(source),
      path: requestedPath(req, OAUTH_ENDPOINTS.authorization),
      browserId: this.authorize.browserId(req),
      ssoCookie: this.authorize.ssoCookieValue(req),
      ip: req.ip,
      userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : undefined,
    };
  }
}

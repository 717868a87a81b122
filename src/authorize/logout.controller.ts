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
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiOtherMethodsRefused, OAUTH_ENDPOINTS } from '../oauth/endpoints';
import { collectParams } from './authorization-request';
import { AuthorizePageFilter } from './authorize-page.filter';
import { acceptsForm, requestedPath, sendOutcome } from './html-response';
import { LoginFormProtection } from './login-form-protection';
import { LogoutService } from './logout.service';
import { SsoCookie } from './sso-cookie';

const PARAMETERS: { name: string; description: string }[] = [
  { name: 'id_token_hint', description: 'An ID token this server issued to the client (expired ones count); with it, the browser\'s session ends without confirmation' },
  { name: 'client_id', description: 'The client asking; needed for post_logout_redirect_uri when there is no id_token_hint' },
  { name: 'post_logout_redirect_uri', description: "Where to send the browser afterwards: exactly one of the client's post_logout_redirect_uris" },
  { name: 'state', description: 'Returned unchanged to post_logout_redirect_uri' },
  { name: 'ui_locales', description: 'Accepted; the pages are in English' },
  { name: 'logout_hint', description: 'Accepted and ignored' },
];

const ApiLogoutQuery = () => applyDecorators(...PARAMETERS.map((p) => ApiQuery({ name: p.name, required: false, description: p.description })));

const ERROR_PAGE = 'HTML error page, never a redirect: an unknown client, a client_id other than the id_token_hint\'s, an unregistered post_logout_redirect_uri (an id_token_hint that cannot be verified is ignored: the user is asked to confirm)';

/** OpenID Connect RP-Initiated Logout 1.0 (SPEC §5): the end_session_endpoint. */
@ApiTags('OpenID Connect')
@ApiOtherMethodsRefused(OAUTH_ENDPOINTS.endSession)
@Controller()
@UseFilters(AuthorizePageFilter)
export class LogoutController {
  constructor(
    private readonly logout: LogoutService,
    private readonly forms: LoginFormProtection,
    private readonly ssoCookie: SsoCookie,
  ) {}

  @Get(OAUTH_ENDPOINTS.endSession.paths)
  @ApiOperation({
    summary: 'End-session endpoint (RP-Initiated Logout 1.0)',
    description:
      'Ends the browser\'s single sign-on session, the refresh tokens it issued to clients with logout_revokes_refresh_tokens, and sends ' +
      'back-channel logout tokens to the clients it signed in to. Without a valid id_token_hint for this browser\'s user, a confirmation page asks first.',
  })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'The confirmation page (a form with a CSRF token), or "Signed out" when there is no post_logout_redirect_uri' })
  @ApiFoundResponse({ description: 'Signed out: post_logout_redirect_uri?state=…' })
  @ApiBadRequestResponse({ description: ERROR_PAGE })
  @ApiLogoutQuery()
  async get(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    sendOutcome(reply, 'GET', await this.logout.handle(this.input(req, 'GET', req.query)));
  }

  @Post(OAUTH_ENDPOINTS.endSession.paths)
  @ApiOperation({ summary: 'End-session endpoint by POST (form-serialized), and the confirmation form submission' })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({
    schema: {
      type: 'object',
      properties: {
        ...Object.fromEntries(PARAMETERS.map((p) => [p.name, { type: 'string', description: p.description }])),
        csrf_token: { type: 'string', description: 'From the confirmation page; bound to the browser cookie and the parameters' },
        action: { type: 'string', enum: ['logout', 'cancel'], description: 'The confirmation: sign out, or stay signed in' },
      },
    },
  })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'The confirmation page, or "Signed out" / "Still signed in"' })
  @ApiSeeOtherResponse({ description: 'Done: post_logout_redirect_uri?state=…' })
  @ApiBadRequestResponse({ description: `${ERROR_PAGE}; or the confirmation page again when its CSRF token was not accepted` })
  async post(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!acceptsForm(req, reply)) return;
    sendOutcome(reply, 'POST', await this.logout.handle(this.input(req, 'POST', req.body)));
  }

  private input(req: FastifyRequest, method: 'GET' | 'POST', source: unknown) {
    return {
      method,
      params: collectParams(source),
      path: requestedPath(req, OAUTH_ENDPOINTS.endSession),
      browserId: this.forms.browserId(req),
      ssoCookie: this.ssoCookie.value(req),
      ip: req.ip,
    };
  }
}

import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { InvalidGrant, TooManyRequests } from '../oauth/errors';
import { AuthorizationCodesService } from '../tokens/authorization-codes.service';
import { PasswordLoginService } from '../users/password-login.service';
import {
  AuthorizationPageError,
  AuthorizationRedirectError,
  AuthorizationRequest,
  AuthorizationRequestValidator,
  type RequestParams,
  withQuery,
} from './authorization-request';
import { LoginFormProtection } from './login-form-protection';
import { errorPage, loginPage, type HtmlPage } from './pages';

/** What the controller sends: an HTML page (maybe with a cookie) or a redirect. */
export type AuthorizeOutcome = { page: HtmlPage; cookie?: string } | { redirect: string };

export interface AuthorizeInput {
  method: 'GET' | 'POST';
  params: RequestParams;
  /** The alias the request came in on, so the form posts back to it. */
  path: string;
  browserId: string | null;
  ip: string;
}

/** Fields of the login form itself, as opposed to the authorization request it carries. */
const LOGIN_FIELDS = ['csrf_token', 'username', 'password', 'otp', 'action'];

const FORM_EXPIRED = 'The sign-in form has expired or was not accepted (are cookies enabled?). Please sign in again.';

/**
 * The authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1.2) with its hosted login page (SPEC §5).
 * Every request, including the login form's POST, is validated from scratch: there is no server-side
 * session, only the signed form.
 */
@Injectable()
export class AuthorizeService {
  private readonly basePath: string;

  constructor(
    private readonly validator: AuthorizationRequestValidator,
    private readonly forms: LoginFormProtection,
    private readonly passwordLogin: PasswordLoginService,
    private readonly codes: AuthorizationCodesService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {
    // The issuer may carry a path (behind a reverse proxy); the form posts below it.
    this.basePath = new URL(config.issuer).pathname.replace(/\/+$/, '');
  }

  browserId(req: FastifyRequest): string | null {
    return this.forms.browserId(req);
  }

  async handle(input: AuthorizeInput): Promise<AuthorizeOutcome> {
    let request: AuthorizationRequest;
    try {
      request = await this.validator.validate(input.params);
    } catch (error) {
      return this.failure(error);
    }
    const { values } = input.params;
    const isLoginSubmission = input.method === 'POST' && LOGIN_FIELDS.some((f) => values[f] !== undefined || input.params.repeated.has(f));
    if (!isLoginSubmission) {
      // No session survives between requests, so a login can never happen without the page.
      if (request.prompt.includes('none')) return this.redirectError(request, 'login_required', 'The user must sign in');
      return this.showLogin(request, input, { status: 200, username: request.loginHint });
    }

    const username = values.username;
    if (!(await this.forms.verify(values.csrf_token, input.browserId, request.carried))) {
      return this.showLogin(request, input, { status: 400, username, error: FORM_EXPIRED });
    }
    if (values.action === 'cancel') return this.redirectError(request, 'access_denied', 'The user cancelled the sign-in');
    // The password grant's texts (SPEC §3.3).
    if (username === undefined) return this.showLogin(request, input, { status: 400, error: 'An authorization username must be supplied.' });
    if (values.password === undefined) return this.showLogin(request, input, { status: 400, username, error: 'A password must be supplied.' });

    const { client } = request;
    let userId: string;
    let amr: string[];
    try {
      const login = await this.passwordLogin.authenticate({
        identifier: { kind: 'username', value: username },
        password: values.password,
        // The optional one-time-code field; a code appended to the password works too, as at the token endpoint.
        otp: values.otp,
        clientId: client.clientId,
        clientRequiresMfa: client.requireMfa,
        ip: input.ip,
        // The login page runs in the end user's browser: its address is the user's, whatever the client.
        source: { kind: 'end-user', ip: input.ip },
      });
      userId = login.user.id;
      amr = login.amr;
    } catch (error) {
      // Exactly what the password grant would say: its error_description, nothing more.
      if (error instanceof InvalidGrant) return this.showLogin(request, input, { status: 400, username, error: error.description });
      if (error instanceof TooManyRequests) return this.showLogin(request, input, { status: 429, username, error: error.description });
      throw error;
    }

    const code = await this.codes.issue({
      clientId: client.clientId,
      userId,
      redirectUri: request.redirectUri,
      scope: request.scope,
      nonce: request.nonce,
      codeChallenge: request.codeChallenge,
      codeChallengeMethod: request.codeChallengeMethod,
      authTime: this.clock.now(),
      amr,
    });
    await this.audit.record({
      type: 'authorization_code.issued',
      userId,
      clientId: client.clientId,
      ip: input.ip,
      details: { scope: request.scope.join(' '), pkce: request.codeChallengeMethod ?? null },
    });
    // RFC 9207: iss tells the client which server answered (mix-up attack defence).
    return { redirect: withQuery(request.redirectUri, { code, state: request.state, iss: this.config.issuer }) };
  }

  private async showLogin(
    request: AuthorizationRequest,
    input: AuthorizeInput,
    view: { status: number; username?: string; error?: string },
  ): Promise<AuthorizeOutcome> {
    const browserId = input.browserId ?? this.forms.newBrowserId();
    const hidden: Record<string, string> = { ...(request.carried as Record<string, string>) };
    hidden.csrf_token = await this.forms.token(browserId, request.carried);
    const page = loginPage({
      status: view.status,
      action: `${this.basePath}/${input.path}`,
      clientName: request.client.clientName || request.client.clientId,
      hidden,
      username: view.username,
      error: view.error,
      redirectUri: request.redirectUri,
    });
    return { page, cookie: input.browserId ? undefined : this.forms.cookie(browserId) };
  }

  private redirectError(request: AuthorizationRequest, error: string, description: string): AuthorizeOutcome {
    return { redirect: withQuery(request.redirectUri, { error, error_description: description, state: request.state, iss: this.config.issuer }) };
  }

  private failure(error: unknown): AuthorizeOutcome {
    if (error instanceof AuthorizationPageError) return { page: errorPage(400, error.error, error.message) };
    if (error instanceof AuthorizationRedirectError) {
      return {
        redirect: withQuery(error.redirectUri, {
          error: error.error,
          error_description: error.description,
          state: error.state,
          iss: this.config.issuer,
        }),
      };
    }
    throw error;
  }
}

import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { InvalidGrant, OAuthError, TooManyRequests } from '../oauth/errors';
import { PolicyService } from '../policy/policy.service';
import type { BrowserSession } from '../sessions/browser-session.entity';
import { BrowserSessionsService } from '../sessions/browser-sessions.service';
import { AuthorizationCodesService } from '../tokens/authorization-codes.service';
import { PasswordLoginService } from '../users/password-login.service';
import { UsersService } from '../users/users.service';
import {
  AuthorizationPageError,
  AuthorizationRedirectError,
  AuthorizationRequest,
  AuthorizationRequestValidator,
  type RequestParams,
  type ResponseMode,
  withQuery,
} from './authorization-request';
import type { PageOutcome } from './html-response';
import { LoginFormProtection } from './login-form-protection';
import { errorPage, formPostPage, loginPage } from './pages';
import { SsoCookie } from './sso-cookie';

/** What the controller sends: an HTML page or a redirect, maybe with cookies. */
export type AuthorizeOutcome = PageOutcome;

export interface AuthorizeInput {
  method: 'GET' | 'POST';
  params: RequestParams;
  /** The alias the request came in on, so the form posts back to it. */
  path: string;
  browserId: string | null;
  /** The single sign-on cookie's value, if the browser sent one. */
  ssoCookie: string | null;
  ip: string;
  userAgent?: string;
}

/** Fields of the login form itself, as opposed to the authorization request it carries. */
const LOGIN_FIELDS = ['csrf_token', 'username', 'password', 'otp', 'action'];

const FORM_EXPIRED = 'The sign-in form has expired or was not accepted (are cookies enabled?). Please sign in again.';

/**
 * The authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1.2) with its hosted login page (SPEC §5).
 * Every request, including the login form's POST, is validated from scratch from the signed form;
 * the only server-side state is the browser's single sign-on session, found by its cookie.
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
    private readonly browserSessions: BrowserSessionsService,
    private readonly policy: PolicyService,
    private readonly users: UsersService,
    private readonly ssoCookie: SsoCookie,
  ) {
    // The issuer may carry a path (behind a reverse proxy); the form posts below it.
    this.basePath = new URL(config.issuer).pathname.replace(/\/+$/, '');
  }

  browserId(req: FastifyRequest): string | null {
    return this.forms.browserId(req);
  }

  ssoCookieValue(req: FastifyRequest): string | null {
    return this.ssoCookie.value(req);
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
      // Single sign-on (SPEC §5): a live browser session signs the user in without the form, unless
      // the client asks for a new login (prompt=login, or max_age older than the last one).
      const session = await this.liveSession(input.ssoCookie);
      if (session && (await this.sessionSatisfies(session, request))) return this.issueCode(request, session, input, [], true);
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

    // The login starts the browser's session, or renews the one it has for the same user (same sid,
    // new auth_time); another user's session in this browser ends.
    const authTime = this.clock.now();
    const cookies: string[] = [];
    let session = await this.liveSession(input.ssoCookie);
    if (session && session.userId !== userId) {
      await this.browserSessions.end(session.id, 'replaced');
      session = null;
    }
    if (session) {
      cookies.push(this.ssoCookie.set(await this.browserSessions.reauthenticated(session, authTime, amr)));
    } else {
      const started = await this.browserSessions.start({ userId, authTime, amr, ip: input.ip, userAgent: input.userAgent });
      session = started.session;
      cookies.push(this.ssoCookie.set(started.cookieValue));
      await this.audit.record({ type: 'browser_session.started', userId, clientId: client.clientId, ip: input.ip, details: { sid: session.id } });
    }
    return this.issueCode(request, session, input, cookies, false);
  }

  /** The browser's live SSO session, per the policy's idle and maximum lifetimes. */
  private async liveSession(cookieValue: string | null): Promise<BrowserSession | null> {
    if (!cookieValue) return null;
    return this.browserSessions.findLive(cookieValue, await this.policy.ssoSessionLifetimes());
  }

  /**
   * Whether the session's login is good enough for this request: no prompt=login, recent enough for
   * max_age, the one-time code a client or user with require_mfa needs, and a user still allowed in.
   */
  private async sessionSatisfies(session: BrowserSession, request: AuthorizationRequest): Promise<boolean> {
    if (request.prompt.includes('login')) return false;
    if (request.maxAge !== undefined && this.clock.nowMs() - session.authTime.getTime() > request.maxAge * 1000) return false;
    const withOtp = session.amr.split(' ').includes('otp');
    if (request.client.requireMfa && !withOtp) return false;
    const user = await this.users.findById(session.userId);
    // A user who must give a second factor (perhaps since the session began) does not skip it.
    if (!user || (user.requireMfa && !withOtp)) return false;
    try {
      await this.policy.assertActive(user, { stage: 'session' });
    } catch (error) {
      if (error instanceof OAuthError) return false;
      throw error;
    }
    return true;
  }

  private async issueCode(request: AuthorizationRequest, session: BrowserSession, input: AuthorizeInput, cookies: string[], sso: boolean): Promise<AuthorizeOutcome> {
    const { client } = request;
    const code = await this.codes.issue({
      clientId: client.clientId,
      userId: session.userId,
      redirectUri: request.redirectUri,
      scope: request.scope,
      nonce: request.nonce,
      codeChallenge: request.codeChallenge,
      codeChallengeMethod: request.codeChallengeMethod,
      authTime: session.authTime,
      amr: session.amr.split(' ').filter(Boolean),
      browserSessionId: session.id,
    });
    await this.browserSessions.signedInTo(session, client.clientId);
    await this.audit.record({
      type: 'authorization_code.issued',
      userId: session.userId,
      clientId: client.clientId,
      ip: input.ip,
      details: { scope: request.scope.join(' '), pkce: request.codeChallengeMethod ?? null, sid: session.id, sso },
    });
    // RFC 9207: iss tells the client which server answered (mix-up attack defence).
    return this.respond(request.redirectUri, request.responseMode, { code, state: request.state, iss: this.config.issuer }, cookies);
  }

  /** The authorization response in the response mode of the request. */
  private respond(redirectUri: string, mode: ResponseMode, params: Record<string, string | undefined>, cookies?: string[]): AuthorizeOutcome {
    if (mode === 'form_post') return { page: formPostPage(redirectUri, params), cookies };
    return { redirect: withQuery(redirectUri, params), cookies };
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
    return { page, cookies: input.browserId ? undefined : [this.forms.cookie(browserId)] };
  }

  private redirectError(request: AuthorizationRequest, error: string, description: string): AuthorizeOutcome {
    return this.respond(request.redirectUri, request.responseMode, { error, error_description: description, state: request.state, iss: this.config.issuer });
  }

  private failure(error: unknown): AuthorizeOutcome {
    if (error instanceof AuthorizationPageError) return { page: errorPage(400, error.error, error.message) };
    if (error instanceof AuthorizationRedirectError) {
      return this.respond(error.redirectUri, error.responseMode, {
        error: error.error,
        error_description: error.description,
        state: error.state,
        iss: this.config.issuer,
      });
    }
    throw error;
  }
}

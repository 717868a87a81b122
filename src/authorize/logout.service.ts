import { Injectable, Logger } from '@nestjs/common';
import { decodeProtectedHeader, type JWTPayload } from 'jose';
import { AuditService } from '../audit/audit.service';
import type { Client } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { isAllowedRedirectUri } from '../clients/redirect-uri';
import { AppConfig } from '../config/app-config';
import { isDatabaseUnavailable } from '../oauth/oauth-exception.filter';
import { KeysService } from '../keys/keys.service';
import { PolicyService } from '../policy/policy.service';
import type { BrowserSession } from '../sessions/browser-session.entity';
import { BrowserSessionsService } from '../sessions/browser-sessions.service';
import { TokenFamiliesService } from '../sessions/token-families.service';
import { type RequestParams, withQuery } from './authorization-request';
import type { AuthorizeInput, AuthorizeOutcome } from './authorize.service';
import { LoginFormProtection } from './login-form-protection';
import { errorPage, loggedOutPage, logoutConfirmationPage } from './pages';
import { SsoCookie } from './sso-cookie';

/** What the end-session endpoint reads of a request: what the authorization endpoint reads, but the user agent. */
export type LogoutInput = Omit<AuthorizeInput, 'userAgent'>;

/** RP-Initiated Logout 1.0 §2 request parameters, and the confirmation form's own fields. */
const LOGOUT_PARAMS = ['id_token_hint', 'client_id', 'post_logout_redirect_uri', 'state', 'ui_locales', 'logout_hint', 'csrf_token', 'action'];
const CSRF_PURPOSE = 'gatehouse-logout-v1';
/** An id_token_hint may have expired long ago (RP-Initiated Logout 1.0 §2): its signature is what counts. */
const HINT_MAX_AGE_TOLERANCE = '3650d';

class LogoutPageError extends Error {
  constructor(
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

interface ValidatedLogout {
  client: Client | null;
  hint: JWTPayload | null;
  postLogoutRedirectUri?: string;
  state?: string;
  uiLocales?: string;
}

/**
 * The end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0, SPEC §5). With a valid
 * id_token_hint for the browser's session the user is signed out at once; otherwise a confirmation
 * page (CSRF-protected like the login form) asks first, so that no other site can sign a user out
 * by sending the browser here. Ending the session ends, per client, the refresh tokens it issued
 * and queues the back-channel logouts of every client it signed in to.
 */
@Injectable()
export class LogoutService {
  private readonly logger = new Logger(LogoutService.name);
  private readonly basePath: string;

  constructor(
    private readonly config: AppConfig,
    private readonly keys: KeysService,
    private readonly clients: ClientsService,
    private readonly browserSessions: BrowserSessionsService,
    private readonly families: TokenFamiliesService,
    private readonly policy: PolicyService,
    private readonly forms: LoginFormProtection,
    private readonly ssoCookie: SsoCookie,
    private readonly audit: AuditService,
  ) {
    this.basePath = new URL(config.issuer).pathname.replace(/\/+$/, '');
  }

  async handle(input: LogoutInput): Promise<AuthorizeOutcome> {
    let request: ValidatedLogout;
    try {
      request = await this.validate(input.params);
    } catch (error) {
      if (error instanceof LogoutPageError) return { page: errorPage(400, error.error, error.message) };
      throw error;
    }
    const session = input.ssoCookie ? await this.browserSessions.findLive(input.ssoCookie, await this.policy.ssoSessionLifetimes()) : null;
    const { values } = input.params;
    const isConfirmation = input.method === 'POST' && (values.csrf_token !== undefined || values.action !== undefined);

    if (isConfirmation) {
      if (!(await this.forms.verifyFormToken(CSRF_PURPOSE, values.csrf_token, input.browserId, this.bound(request)))) {
        return this.confirm(request, input, { status: 400, error: 'The sign-out form has expired or was not accepted (are cookies enabled?). Please try again.' });
      }
      if (values.action === 'cancel') return this.finish(request, input, false, []);
      return this.finish(request, input, true, await this.endSession(session, request, input));
    }
    // A valid hint for this browser's user (or a browser with no session left) needs no confirmation.
    if (request.hint && (!session || session.id === request.hint.sid || session.userId === request.hint.sub)) {
      return this.finish(request, input, true, await this.endSession(session, request, input));
    }
    return this.confirm(request, input, { status: 200 });
  }

  private async validate({ values, repeated }: RequestParams): Promise<ValidatedLogout> {
    for (const name of LOGOUT_PARAMS) {
      if (repeated.has(name)) throw new LogoutPageError('invalid_request', `The ${name} parameter must not be repeated.`);
    }
    const hint = values.id_token_hint !== undefined ? await this.verifyHint(values.id_token_hint) : null;
    // A hint that cannot be verified (signed with a key since deleted, forged, not an id_token) is
    // not used (RP-Initiated Logout 1.0 §4): the request goes on as one without it, so the user is
    // asked to confirm, and a post_logout_redirect_uri is followed only for a client_id given
    // with it, as without a hint; with none, it is dropped rather than the user shown an error.
    const unverifiedHint = values.id_token_hint !== undefined && !hint;
    const hintAudience = hint ? (Array.isArray(hint.aud) ? hint.aud : [hint.aud]).filter((a): a is string => typeof a === 'string') : [];
    let clientId: string | undefined = values.client_id;
    if (hint) {
      if (clientId !== undefined && !hintAudience.includes(clientId)) {
        throw new LogoutPageError('invalid_request', 'The client_id does not match the id_token_hint.');
      }
      if (clientId === undefined && hintAudience.length === 1) clientId = hintAudience[0];
    }
    let client: Client | null = null;
    if (clientId !== undefined) {
      client = await this.clients.findById(clientId);
      if (!client) throw new LogoutPageError('invalid_client', 'The application that sent you here is not registered (unknown client_id).');
    }
    let postLogoutRedirectUri: string | undefined = values.post_logout_redirect_uri;
    let state: string | undefined = values.state;
    if (postLogoutRedirectUri !== undefined && !client && unverifiedHint) {
      postLogoutRedirectUri = undefined;
      state = undefined;
    }
    if (postLogoutRedirectUri !== undefined) {
      if (!client) throw new LogoutPageError('invalid_request', 'A post_logout_redirect_uri needs the client_id or an id_token_hint.');
      // Exact string comparison, as for redirect_uri; a URI that could run script is never followed.
      if (!(client.postLogoutRedirectUris ?? []).includes(postLogoutRedirectUri) || !isAllowedRedirectUri(postLogoutRedirectUri)) {
        throw new LogoutPageError('invalid_request', 'The post_logout_redirect_uri is not registered for this application.');
      }
    }
    return { client, hint, postLogoutRedirectUri, state, uiLocales: values.ui_locales };
  }

  /** An id_token this server signed (any age) and can still verify; null for anything else. */
  private async verifyHint(token: string): Promise<JWTPayload | null> {
    try {
      if (token.length > 8192) throw new Error('too long');
      // id_tokens carry no typ; access tokens (at+jwt) and logout tokens are not hints.
      if (decodeProtectedHeader(token).typ !== undefined) throw new Error('not an id_token');
      const payload = await this.keys.verify(token, { issuer: this.config.issuer, clockTolerance: HINT_MAX_AGE_TOLERANCE, requiredClaims: ['sub', 'aud', 'iat'] });
      if (payload.client_id !== undefined || payload.events !== undefined) throw new Error('not an id_token');
      return payload;
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw error;
      this.logger.debug(`id_token_hint not used: ${(error as Error).message}`);
      return null;
    }
  }

  /** The values the confirmation form's CSRF token binds, so that none can change between page and POST. */
  private bound(request: ValidatedLogout): (string | null)[] {
    return [request.client?.clientId ?? null, request.postLogoutRedirectUri ?? null, request.state ?? null, request.uiLocales ?? null];
  }

  private async confirm(request: ValidatedLogout, input: LogoutInput, view: { status: number; error?: string }): Promise<AuthorizeOutcome> {
    const browserId = input.browserId ?? this.forms.newBrowserId();
    const hidden: Record<string, string> = {};
    if (request.client) hidden.client_id = request.client.clientId;
    if (request.postLogoutRedirectUri) hidden.post_logout_redirect_uri = request.postLogoutRedirectUri;
    if (request.state !== undefined) hidden.state = request.state;
    if (request.uiLocales !== undefined) hidden.ui_locales = request.uiLocales;
    hidden.csrf_token = await this.forms.formToken(CSRF_PURPOSE, browserId, this.bound(request));
    const page = logoutConfirmationPage({
      action: `${this.basePath}/${input.path}`,
      clientName: request.client ? request.client.clientName || request.client.clientId : undefined,
      hidden,
      redirectUri: request.postLogoutRedirectUri,
      status: view.status,
      error: view.error,
    });
    return { page, cookies: input.browserId ? undefined : [this.forms.cookie(browserId)] };
  }

  /**
   * Ends the browser's session (one conditional UPDATE: a concurrent logout elsewhere makes this a
   * no-op), then the refresh tokens it issued to the clients that want them ended with it.
   */
  private async endSession(session: BrowserSession | null, request: ValidatedLogout, input: LogoutInput): Promise<string[]> {
    const cookies = [this.ssoCookie.clear()];
    if (!session) return cookies;
    const ended = await this.browserSessions.end(session.id, 'logout');
    const clientIds = await this.browserSessions.clientsOf(session.id);
    const revoking: string[] = [];
    for (const clientId of clientIds) {
      const client = await this.clients.findById(clientId);
      if (client?.logoutRevokesRefreshTokens) revoking.push(clientId);
    }
    const families = await this.families.endForBrowserSession(session.id, revoking, 'logout');
    if (ended) {
      await this.audit.record({
        type: 'browser_session.logout',
        userId: session.userId,
        clientId: request.client?.clientId ?? null,
        ip: input.ip,
        details: { sid: session.id, clients: clientIds, ended_families: families },
      });
    }
    return cookies;
  }

  private finish(request: ValidatedLogout, input: LogoutInput, signedOut: boolean, cookies: string[]): AuthorizeOutcome {
    if (request.postLogoutRedirectUri) {
      const { postLogoutRedirectUri: uri, state } = request;
      return { redirect: state === undefined ? uri : withQuery(uri, { state }), cookies };
    }
    return { page: loggedOutPage(signedOut), cookies };
  }
}

import { createHmac, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Clock } from '../common/clock';
import { randomToken } from '../common/crypto';
import { AppConfig } from '../config/app-config';
import { ServerSecretsService } from '../keys/server-secrets.service';
import { CARRIED_PARAMS, type CarriedParams } from './authorization-request';
import { PageCookie } from './cookies';

/** How long a rendered login form can be submitted (Keycloak's default login timeout). */
export const LOGIN_FORM_TTL_SECONDS = 30 * 60;

const BROWSER_ID = /^[A-Za-z0-9_-]{43}$/;
const TOKEN = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

/**
 * CSRF protection of the hosted login form, without server-side sessions (every instance is
 * stateless). The browser gets a random, HttpOnly, SameSite=Lax cookie; the form carries a token
 *
 *   expiry "." base64url(HMAC-SHA-256(server secret, [browser id, expiry, authorization request parameters]))
 *
 * The server secret lives in the database (ServerSecretsService), so a form rendered by one instance
 * is accepted by any other. A cross-site page cannot read the victim's cookie, so it cannot produce a
 * token for it; and the parameters it binds (client, redirect_uri, scope, PKCE challenge, state,
 * nonce...) cannot be changed between the page and the POST.
 */
@Injectable()
export class LoginFormProtection {
  private readonly browserCookie: PageCookie;

  constructor(
    private readonly secrets: ServerSecretsService,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    // `__Host-` cookies must be Secure, so the prefix is used when the issuer is https.
    this.browserCookie = new PageCookie(config.issuer, 'gatehouse_login');
  }

  get cookieName(): string {
    return this.browserCookie.name;
  }

  /** The browser id from the request's cookie, or null when it has none (or a malformed one). */
  browserId(req: FastifyRequest): string | null {
    const value = this.browserCookie.read(req);
    return value !== null && BROWSER_ID.test(value) ? value : null;
  }

  newBrowserId(): string {
    return randomToken();
  }

  /** A session cookie (no Max-Age): it ends with the browser session, like Keycloak's AUTH_SESSION_ID. */
  cookie(browserId: string): string {
    return this.browserCookie.set(browserId);
  }

  token(browserId: string, params: CarriedParams): Promise<string> {
    return this.formToken('gatehouse-login-form-v1', browserId, CARRIED_PARAMS.map((name) => params[name] ?? null));
  }

  verify(token: string | undefined, browserId: string | null, params: CarriedParams): Promise<boolean> {
    return this.verifyFormToken('gatehouse-login-form-v1', token, browserId, CARRIED_PARAMS.map((name) => params[name] ?? null));
  }

  /** A CSRF token for another form of the hosted pages (the logout confirmation), bound to `purpose` and `values`. */
  async formToken(purpose: string, browserId: string, values: (string | null)[]): Promise<string> {
    const expires = this.clock.nowSeconds() + LOGIN_FORM_TTL_SECONDS;
    return `${expires}.${await this.mac(purpose, browserId, expires, values)}`;
  }

  async verifyFormToken(purpose: string, token: string | undefined, browserId: string | null, values: (string | null)[]): Promise<boolean> {
    const match = token ? TOKEN.exec(token) : null;
    if (!match || !browserId) return false;
    const expires = Number(match[1]);
    if (expires <= this.clock.nowSeconds()) return false;
    const expected = Buffer.from(await this.mac(purpose, browserId, expires, values), 'ascii');
    const presented = Buffer.from(match[2], 'ascii');
    return expected.length === presented.length && timingSafeEqual(expected, presented);
  }

  private async mac(purpose: string, browserId: string, expires: number, values: (string | null)[]): Promise<string> {
    // A JSON array has no delimiter ambiguity; an absent parameter (null) differs from any value.
    const message = JSON.stringify([purpose, browserId, expires, ...values]);
    return createHmac('sha256', await this.secrets.get('login-form')).update(message, 'utf8').digest('base64url');
  }
}

import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import passport from 'passport';
import type { Client } from '../clients/client.entity';
import { oauthParams } from '../oauth/form';
import { InvalidRequest, OAuthError, REALM } from '../oauth/errors';
import { ClientAuthAttempts } from './client-auth-attempts.service';
import { ClientAuthFailure } from './client-auth-failure';
import { ClientAuthStrategies } from './client-auth-strategies';
import { hasBasicAuthorization } from './client-authenticator';

/** `client`: the authenticated client, for the handler and for CORS (whose origins may read the response). */
export type ClientRequest = FastifyRequest & { client?: Client };

const BASIC_CHALLENGE = `Basic realm="${REALM}"`;

/** passport's authenticate() callback: the client of the strategy that succeeded, or the strategies' failures. */
type Verdict = { client: Client } | { failures: unknown[] };

/**
 * Client authentication for the token, introspection and revocation endpoints (SPEC §3.2): passport
 * over one strategy per token_endpoint_auth_method (this application's, see ClientAuthStrategies),
 * called by the token, introspection and revocation endpoints themselves (lean routes, no guard:
 * oauth/lean-routes.ts).
 * Exactly one method presented, and it must be the one registered on the client. Unknown client,
 * wrong secret, wrong method, disabled client, and a public client where only confidential ones may
 * call, all read "Bad client credentials".
 */
@Injectable()
export class ClientAuthentication {
  private readonly names: string[];

  constructor(
    strategies: ClientAuthStrategies,
    private readonly attempts: ClientAuthAttempts,
  ) {
    this.names = [...strategies.names];
  }

  /** The authenticated client (also left on `req.client`), or an OAuthError (401 with the Basic challenge where one was presented, 429). */
  async authenticate(req: ClientRequest, options: { confidentialClientsOnly: boolean }): Promise<Client> {
    const params = oauthParams(req);
    // A client certificate is not counted: it belongs to the connection, not to the request (RFC 8705).
    const presented = (hasBasicAuthorization(req) ? 1 : 0) + (params.client_secret !== undefined ? 1 : 0) + (params.client_assertion !== undefined ? 1 : 0);
    if (presented > 1) throw new InvalidRequest('Only one client authentication method may be used per request');

    const verdict = await this.runStrategies(req, options);
    if (!('client' in verdict)) throw this.challenge(req, await this.attempts.failed(req, this.failureOf(req, verdict.failures)));
    const client = verdict.client;
    if (client.disabled) throw this.challenge(req, await this.attempts.failed(req, new ClientAuthFailure('disabled', { client })));
    await this.attempts.succeeded(req, client).catch((error: unknown) => {
      throw error instanceof OAuthError ? this.challenge(req, error) : error;
    });
    req.client = client;
    return client;
  }

  /**
   * passport.authenticate over this application's strategies, in CLIENT_AUTH_STRATEGY_ORDER: the
   * first that succeeds decides; when all fail, passport hands back each one's fail() info. An
   * error (a bad request, a database outage) stops the chain and is thrown.
   */
  private runStrategies(req: ClientRequest, options: { confidentialClientsOnly: boolean }): Promise<Verdict> {
    return new Promise((resolve, reject) => {
      const callback = (error: unknown, client: Client | false, info: unknown) => {
        if (error) return reject(error instanceof OAuthError ? this.challenge(req, error) : error);
        resolve(client ? { client } : { failures: Array.isArray(info) ? info : [info] });
      };
      passport.authenticate(this.names, { session: false, ...options }, callback)(req, undefined, (error?: unknown) =>
        error ? reject(error) : resolve({ failures: [] }),
      );
    });
  }

  /**
   * The failure that says most. Usually one strategy matched the request; a certificate plus
   * client_id matches three, and the one the client is registered for explains best (not wrong_method).
   */
  private failureOf(req: ClientRequest, infos: unknown[]): ClientAuthFailure {
    const failures = infos.filter((f): f is ClientAuthFailure => f instanceof ClientAuthFailure);
    const failure = failures.find((f) => f.reason !== 'wrong_method') ?? failures[0];
    if (failure) return failure;
    const params = oauthParams(req);
    const anything = params.client_id !== undefined || params.client_assertion !== undefined || hasBasicAuthorization(req);
    return new ClientAuthFailure(anything ? 'malformed_credentials' : 'no_credentials', { clientId: params.client_id });
  }

  /** A Basic client is told the realm again on 401 (RFC 6749 §5.2); 429 is not a challenge. */
  private challenge<E extends OAuthError>(req: FastifyRequest, error: E): E {
    return hasBasicAuthorization(req) && error.status !== 429 ? error.withHeader('WWW-Authenticate', BASIC_CHALLENGE) : error;
  }
}

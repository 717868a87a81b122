import { ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { oauthParams } from '../oauth/form';
import { InvalidRequest, OAuthError, REALM } from '../oauth/errors';
import type { Client } from '../clients/client.entity';
import { ClientAuthAttempts } from './client-auth-attempts.service';
import { ClientAuthFailure } from './client-auth-failure';
import { ClientAuthStrategies, type ClientAuthOptions } from './client-auth-strategies';
import { hasBasicAuthorization } from './client-authenticator';

/** `client`: the authenticated client, for the handler and for CORS (whose origins may read the response). */
export type ClientRequest = FastifyRequest & { client?: Client };

const CONFIDENTIAL_CLIENTS_ONLY = 'gatehouse:confidential-clients-only';

/**
 * The endpoint is for confidential clients: a public client (`none`, client_id alone) proves
 * nothing about who calls, so it is `invalid_client` there, like bad credentials (introspection,
 * RFC 7662 §2.1 and SPEC §4).
 */
export const ConfidentialClientsOnly = () => SetMetadata(CONFIDENTIAL_CLIENTS_ONLY, true);

const BASIC_CHALLENGE = `Basic realm="${REALM}"`;

/** Where AuthGuard leaves what handleRequest made of the strategies' results. */
const OUTCOME = 'clientAuthentication';
type OutcomeRequest = ClientRequest & { [OUTCOME]?: Client | ClientAuthFailure };

/**
 * Client authentication for the token, introspection and revocation endpoints: @nestjs/passport's
 * AuthGuard over one strategy per token_endpoint_auth_method (this application's, see
 * ClientAuthStrategies). Exactly one method presented, and it must be the one registered on the
 * client. Unknown client, wrong secret, wrong method, disabled client, and a public client where
 * only confidential ones may call, all read "Bad client credentials".
 */
@Injectable()
export class ClientAuthGuard extends AuthGuard() {
  constructor(
    strategies: ClientAuthStrategies,
    private readonly reflector: Reflector,
    private readonly attempts: ClientAuthAttempts,
  ) {
    super({ defaultStrategy: [...strategies.names], session: false, property: OUTCOME });
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<OutcomeRequest>();
    const params = oauthParams(req);
    // A client certificate is not counted: it belongs to the connection, not to the request (RFC 8705).
    const presented = [hasBasicAuthorization(req), params.client_secret !== undefined, params.client_assertion !== undefined].filter(Boolean).length;
    if (presented > 1) throw new InvalidRequest('Only one client authentication method may be used per request');

    await super.canActivate(context);
    const outcome = req[OUTCOME]!;
    req[OUTCOME] = undefined;
    if (outcome instanceof ClientAuthFailure) throw this.challenge(req, await this.attempts.failed(req, outcome));
    if (outcome.disabled) throw this.challenge(req, await this.attempts.failed(req, new ClientAuthFailure('disabled', { client: outcome })));
    await this.attempts.succeeded(req, outcome).catch((error: unknown) => {
      throw error instanceof OAuthError ? this.challenge(req, error) : error;
    });
    req.client = outcome;
    return true;
  }

  override getAuthenticateOptions(context: ExecutionContext): ClientAuthOptions {
    const confidentialOnly = this.reflector.getAllAndOverride<boolean | undefined>(CONFIDENTIAL_CLIENTS_ONLY, [context.getHandler(), context.getClass()]);
    return { session: false, confidentialClientsOnly: !!confidentialOnly };
  }

  /**
   * passport's verdict: the client of the strategy that succeeded, or (every strategy failed) the
   * failure that says most. Usually one strategy matched the request; a certificate plus client_id
   * matches three, and the one the client is registered for explains best (not wrong_method).
   */
  override handleRequest<T = Client | ClientAuthFailure>(error: unknown, client: Client | false, info: unknown, context: ExecutionContext): T {
    if (error) throw error instanceof OAuthError ? this.challenge(context.switchToHttp().getRequest(), error) : error;
    if (client) return client as T;
    const failures = (Array.isArray(info) ? info : [info]).filter((f): f is ClientAuthFailure => f instanceof ClientAuthFailure);
    const failure = failures.find((f) => f.reason !== 'wrong_method') ?? failures[0];
    if (failure) return failure as T;
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const params = oauthParams(req);
    const anything = params.client_id !== undefined || params.client_assertion !== undefined || hasBasicAuthorization(req);
    return new ClientAuthFailure(anything ? 'malformed_credentials' : 'no_credentials', { clientId: params.client_id }) as T;
  }

  /** A Basic client is told the realm again on 401 (RFC 6749 §5.2); 429 is not a challenge. */
  private challenge<E extends OAuthError>(req: FastifyRequest, error: E): E {
    return hasBasicAuthorization(req) && error.status !== 429 ? error.withHeader('WWW-Authenticate', BASIC_CHALLENGE) : error;
  }
}

import { randomUUID } from 'node:crypto';
import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import passport from 'passport';
import { Strategy as CustomStrategy } from 'passport-custom';
import { oauthParams, type OAuthParams } from '../oauth/form';
import { InvalidClient } from '../oauth/errors';
import { TOKEN_ENDPOINT_AUTH_METHODS, type Client, type TokenEndpointAuthMethod } from '../clients/client.entity';
import { ClientAuthFailure } from './client-auth-failure';
import type { ClientAuthenticator, ClientAuthOptions } from './client-authenticator';

export type { ClientAuthOptions } from './client-authenticator';

/**
 * The order in which ClientAuthentication tries the strategies: TOKEN_ENDPOINT_AUTH_METHODS' own,
 * which lists `none` last, after the certificate methods that match the same requests (client_id
 * alone, plus a certificate from a trusted proxy).
 */
export const CLIENT_AUTH_STRATEGY_ORDER: readonly TokenEndpointAuthMethod[] = TOKEN_ENDPOINT_AUTH_METHODS;

/** A strategy's fail() info when the request does not present its method at all. */
export const NOT_PRESENTED = Symbol('client authentication method not presented');

/** What a strategy's validate() hands back to passport: the client, or `false` and why not. */
export type StrategyOutcome = Client | [false, ClientAuthFailure | typeof NOT_PRESENTED];

/**
 * PassportStrategy (from @nestjs/passport) registers each strategy in passport's process-wide
 * registry as it is built. Ours are registered by ClientAuthStrategies instead, under names of their
 * own application instance: PassportStrategy's registration is sent here and dropped.
 */
export const REGISTERED_BY_CLIENT_AUTH_STRATEGIES = { use: () => undefined };

/**
 * The client authentication strategies of this application instance in passport's registry.
 * passport keeps one registry per process, and a process may run several Gatehouse applications
 * (the test suites start two on one database; each has its own database pool, caches and clock),
 * so each instance registers its strategies under names suffixed with its own id, and its
 * ClientAuthentication names only those. The names are removed when the application closes.
 */
@Injectable()
export class ClientAuthStrategies implements OnModuleDestroy {
  private readonly instance = randomUUID();
  readonly names: readonly string[] = CLIENT_AUTH_STRATEGY_ORDER.map((method) => this.nameOf(method));

  register(method: TokenEndpointAuthMethod, strategy: passport.Strategy): void {
    passport.use(this.nameOf(method), strategy);
  }

  onModuleDestroy(): void {
    for (const name of this.names) passport.unuse(name);
  }

  private nameOf(method: TokenEndpointAuthMethod): string {
    return `${method}@${this.instance}`;
  }
}

/**
 * The body of every strategy's validate(): whether the request presents the method (no I/O), then
 * the authenticator's check, then that the client is registered for this very method. An
 * InvalidClient becomes passport's fail(), so that passport tries the next strategy (a certificate
 * plus client_id matches three methods, and the client's registered one decides); any other error
 * (a bad request, a database outage) stops the chain.
 */
export async function validateClient(
  authenticator: ClientAuthenticator,
  req: FastifyRequest,
  options: ClientAuthOptions,
): Promise<StrategyOutcome> {
  const params: OAuthParams = oauthParams(req);
  if (!authenticator.matches(req, params)) return [false, NOT_PRESENTED];
  let client: Client;
  try {
    client = await authenticator.authenticateClient(req, params, options);
  } catch (error) {
    if (error instanceof ClientAuthFailure) return [false, error];
    if (error instanceof InvalidClient) return [false, new ClientAuthFailure('malformed_credentials', { clientId: params.client_id })];
    throw error;
  }
  if (client.tokenEndpointAuthMethod !== authenticator.method) return [false, new ClientAuthFailure('wrong_method', { client, presented: authenticator.method })];
  return client;
}

/**
 * A method whose credentials are in the form body or the connection: a passport-custom strategy
 * (PassportStrategy of @nestjs/passport) whose validate() receives the guard's options.
 */
export abstract class CustomClientAuthStrategy extends PassportStrategy(CustomStrategy) implements ClientAuthenticator {
  constructor(
    readonly method: TokenEndpointAuthMethod,
    strategies: ClientAuthStrategies,
  ) {
    super({ passOptionsToCallback: true });
    strategies.register(method, this);
  }

  abstract matches(req: FastifyRequest, params: OAuthParams): boolean;
  abstract authenticateClient(req: FastifyRequest, params: OAuthParams, options: ClientAuthOptions): Promise<Client>;

  /** See REGISTERED_BY_CLIENT_AUTH_STRATEGIES. */
  getPassportInstance() {
    return REGISTERED_BY_CLIENT_AUTH_STRATEGIES;
  }

  validate(req: FastifyRequest, options: ClientAuthOptions): Promise<StrategyOutcome> {
    return validateClient(this, req, options);
  }
}

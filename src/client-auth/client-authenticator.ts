import type { FastifyRequest } from 'fastify';
import type { OAuthParams } from '../oauth/form';
import type { Client, TokenEndpointAuthMethod } from '../clients/client.entity';

/** The options the guard hands every strategy (AuthGuard.getAuthenticateOptions). */
export interface ClientAuthOptions {
  session: false;
  /** The endpoint is for confidential clients only (introspection): `none` proves nothing there. */
  confidentialClientsOnly: boolean;
}

/**
 * One token_endpoint_auth_method (node-oauth2-server's lib/client-authentication pattern). Each is
 * a passport strategy too (PassportStrategy of @nestjs/passport): its validate() runs these two
 * through validateClient, and ClientAuthentication runs the strategies through passport.authenticate.
 */
export interface ClientAuthenticator {
  readonly method: TokenEndpointAuthMethod;
  /** Whether the request presents this method's credentials. No side effects, no I/O. */
  matches(req: FastifyRequest, params: OAuthParams): boolean;
  /**
   * The client the credentials prove; throws a ClientAuthFailure (an InvalidClient that says why)
   * otherwise. The client may be registered for another method: validateClient checks that.
   */
  authenticateClient(req: FastifyRequest, params: OAuthParams, options: ClientAuthOptions): Promise<Client>;
}

export function hasBasicAuthorization(req: FastifyRequest): boolean {
  return /^basic /i.test(req.headers.authorization ?? '');
}

import type { FastifyRequest } from 'fastify';
import type { OAuthParams } from '../oauth/form';
import type { Client, TokenEndpointAuthMethod } from '../clients/client.entity';

/** One token_endpoint_auth_method (node-oauth2-server's lib/client-authentication pattern). */
export interface ClientAuthenticator {
  readonly method: TokenEndpointAuthMethod;
  /** Whether the request presents this method's credentials. No side effects, no I/O. */
  matches(req: FastifyRequest, params: OAuthParams): boolean;
  /** The client the credentials prove; throws InvalidClient otherwise. */
  authenticate(req: FastifyRequest, params: OAuthParams): Promise<Client>;
}

export const CLIENT_AUTHENTICATORS = Symbol('CLIENT_AUTHENTICATORS');

export function hasBasicAuthorization(req: FastifyRequest): boolean {
  return /^basic /i.test(req.headers.authorization ?? '');
}

import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { oauthParams } from '../oauth/form';
import { InvalidClient, InvalidRequest, OAuthError, REALM } from '../oauth/errors';
import type { Client } from '../clients/client.entity';
import { CLIENT_AUTHENTICATORS, ClientAuthenticator, hasBasicAuthorization } from './client-authenticator';

export type ClientRequest = FastifyRequest & { client?: Client };

const BASIC_CHALLENGE = `Basic realm="${REALM}"`;

/**
 * Client authentication for the token, introspection and revocation endpoints: exactly one method
 * presented, and it must be the one registered on the client. Unknown client, wrong secret, wrong
 * method and disabled client all read "Bad client credentials".
 */
@Injectable()
export class ClientAuthGuard implements CanActivate {
  constructor(@Inject(CLIENT_AUTHENTICATORS) private readonly authenticators: ClientAuthenticator[]) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<ClientRequest>();
    const params = oauthParams(req);
    const usesBasic = hasBasicAuthorization(req);
    // A client certificate is not counted: it belongs to the connection, not to the request (RFC 8705).
    const presented = [usesBasic, params.client_secret !== undefined, params.client_assertion !== undefined].filter(Boolean).length;
    if (presented > 1) throw new InvalidRequest('Only one client authentication method may be used per request');

    const challenge = (error: OAuthError) => (usesBasic ? error.withHeader('WWW-Authenticate', BASIC_CHALLENGE) : error);
    // Usually one authenticator matches. A certificate from a trusted proxy plus client_id matches
    // tls_client_auth, self_signed_tls_client_auth and none alike: the client's registered method
    // decides, so each is tried in turn and the first that proves a client registered for it wins.
    let client: Client | undefined;
    for (const authenticator of this.authenticators.filter((a) => a.matches(req, params))) {
      let candidate: Client;
      try {
        candidate = await authenticator.authenticate(req, params);
      } catch (error) {
        if (error instanceof InvalidClient) continue;
        throw error instanceof OAuthError ? challenge(error) : error;
      }
      if (candidate.tokenEndpointAuthMethod === authenticator.method) {
        client = candidate;
        break;
      }
    }
    if (!client || client.disabled) throw challenge(new InvalidClient());
    req.client = client;
    return true;
  }
}

import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { OAuthParams } from '../oauth/form';
import type { Client } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { ClientAuthFailure } from './client-auth-failure';
import { ClientAuthStrategies, CustomClientAuthStrategy, type ClientAuthOptions } from './client-auth-strategies';
import { hasBasicAuthorization } from './client-authenticator';

/**
 * A public client (RFC 6749 §2.1) identifies itself with client_id alone. Where only confidential
 * clients may call (introspection), that proves nothing: a `none` client is refused there.
 */
@Injectable()
export class NoneAuthenticator extends CustomClientAuthStrategy {
  declare readonly method: 'none';

  constructor(
    private readonly clients: ClientsService,
    strategies: ClientAuthStrategies,
  ) {
    super('none', strategies);
  }

  matches(req: FastifyRequest, params: OAuthParams): boolean {
    return (
      params.client_id !== undefined &&
      params.client_secret === undefined &&
      params.client_assertion === undefined &&
      !hasBasicAuthorization(req)
    );
  }

  async authenticateClient(_req: FastifyRequest, params: OAuthParams, options: ClientAuthOptions): Promise<Client> {
    const client = await this.clients.findById(params.client_id);
    if (!client) throw new ClientAuthFailure('unknown_client', { clientId: params.client_id });
    if (client.tokenEndpointAuthMethod !== this.method) throw new ClientAuthFailure('wrong_method', { client, presented: this.method });
    if (options.confidentialClientsOnly) throw new ClientAuthFailure('public_client', { client });
    return client;
  }
}

import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { OAuthParams } from '../oauth/form';
import type { Client } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { ClientAuthFailure } from './client-auth-failure';
import { ClientAuthStrategies, CustomClientAuthStrategy } from './client-auth-strategies';

/** RFC 6749 §2.3.1: client_id and client_secret in the form body. */
@Injectable()
export class ClientSecretPostAuthenticator extends CustomClientAuthStrategy {
  declare readonly method: 'client_secret_post';

  constructor(
    private readonly clients: ClientsService,
    strategies: ClientAuthStrategies,
  ) {
    super('client_secret_post', strategies);
  }

  matches(_req: FastifyRequest, params: OAuthParams): boolean {
    return params.client_secret !== undefined;
  }

  async authenticateClient(_req: FastifyRequest, params: OAuthParams): Promise<Client> {
    const clientId = params.client_id;
    if (!clientId) throw new ClientAuthFailure('malformed_credentials');
    const client = await this.clients.findById(clientId);
    if (!client) {
      this.clients.verifySecret(null, params.client_secret); // the same work as for a registered client
      throw new ClientAuthFailure('unknown_client', { clientId });
    }
    if (client.tokenEndpointAuthMethod !== this.method) throw new ClientAuthFailure('wrong_method', { client, presented: this.method });
    if (!this.clients.verifySecret(client, params.client_secret)) throw new ClientAuthFailure('wrong_secret', { client });
    return client;
  }
}

import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { OAuthParams } from '../oauth/form';
import { InvalidClient } from '../oauth/errors';
import type { Client } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { ClientAuthenticator } from './client-authenticator';

/** RFC 6749 §2.3.1: client_id and client_secret in the form body. */
@Injectable()
export class ClientSecretPostAuthenticator implements ClientAuthenticator {
  readonly method = 'client_secret_post' as const;

  constructor(private readonly clients: ClientsService) {}

  matches(_req: FastifyRequest, params: OAuthParams): boolean {
    return params.client_secret !== undefined;
  }

  async authenticate(_req: FastifyRequest, params: OAuthParams): Promise<Client> {
    const clientId = params.client_id;
    if (!clientId) throw new InvalidClient();
    const client = await this.clients.findById(clientId);
    if (!this.clients.verifySecret(client, params.client_secret) || !client) throw new InvalidClient();
    return client;
  }
}

import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { OAuthParams } from '../oauth/form';
import { InvalidClient } from '../oauth/errors';
import type { Client } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { ClientAuthenticator, hasBasicAuthorization } from './client-authenticator';

/** A public client (RFC 6749 §2.1) identifies itself with client_id alone. */
@Injectable()
export class NoneAuthenticator implements ClientAuthenticator {
  readonly method = 'none' as const;

  constructor(private readonly clients: ClientsService) {}

  matches(req: FastifyRequest, params: OAuthParams): boolean {
    return (
      params.client_id !== undefined &&
      params.client_secret === undefined &&
      params.client_assertion === undefined &&
      !hasBasicAuthorization(req)
    );
  }

  async authenticate(_req: FastifyRequest, params: OAuthParams): Promise<Client> {
    const client = await this.clients.findById(params.client_id);
    if (!client) throw new InvalidClient();
    return client;
  }
}

import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { BasicStrategy } from 'passport-http';
import type { OAuthParams } from '../oauth/form';
import { InvalidClient } from '../oauth/errors';
import type { Client } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { ClientAuthenticator, hasBasicAuthorization } from './client-authenticator';

interface BasicCredentials {
  userid: string;
  password: string;
}

/** passport-http parses the header; its verify callback only hands the two halves back to us. */
const basicStrategy = new BasicStrategy((userid, password, done) => done(null, { userid, password }));

function parseBasicHeader(req: FastifyRequest): Promise<BasicCredentials | null> {
  return new Promise((resolve) => {
    // Passport runs a strategy as a prototype-derived object with success/fail/error actions.
    const attempt = Object.create(basicStrategy) as BasicStrategy & {
      success(user: BasicCredentials): void;
      fail(): void;
      error(): void;
    };
    attempt.success = (user) => resolve(user);
    attempt.fail = () => resolve(null);
    attempt.error = () => resolve(null);
    attempt.authenticate(req as never);
  });
}

/** RFC 6749 §2.3.1: client_id and secret are form-urlencoded before base64. */
function formDecode(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

@Injectable()
export class ClientSecretBasicAuthenticator implements ClientAuthenticator {
  readonly method = 'client_secret_basic' as const;

  constructor(private readonly clients: ClientsService) {}

  matches(req: FastifyRequest): boolean {
    return hasBasicAuthorization(req);
  }

  async authenticate(req: FastifyRequest, params: OAuthParams): Promise<Client> {
    const credentials = await parseBasicHeader(req);
    const clientId = credentials && formDecode(credentials.userid);
    const secret = credentials && formDecode(credentials.password);
    if (!clientId || secret === null || secret === '') throw new InvalidClient();
    if (params.client_id !== undefined && params.client_id !== clientId) throw new InvalidClient();
    const client = await this.clients.findById(clientId);
    if (!this.clients.verifySecret(client, secret) || !client) throw new InvalidClient();
    return client;
  }
}

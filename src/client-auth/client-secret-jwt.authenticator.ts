import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { JWTPayload } from 'jose';
import type { OAuthParams } from '../oauth/form';
import type { Client } from '../clients/client.entity';
import { ClientSecretSealer } from '../clients/client-secret-sealer';
import { CLIENT_SECRET_JWT_ALGS, ClientAssertionVerifier, presentedAssertionAlg } from './client-assertion.verifier';
import { ClientAuthFailure } from './client-auth-failure';
import { ClientAuthStrategies, CustomClientAuthStrategy } from './client-auth-strategies';

/**
 * RFC 7523 §2.2 with an HMAC (HS256/384/512) keyed by the client secret's UTF-8 bytes (OIDC Core
 * §9). The secret is stored sealed for these clients, since its digest cannot check a MAC.
 */
@Injectable()
export class ClientSecretJwtAuthenticator extends CustomClientAuthStrategy {
  declare readonly method: 'client_secret_jwt';

  constructor(
    private readonly assertions: ClientAssertionVerifier,
    private readonly sealer: ClientSecretSealer,
    strategies: ClientAuthStrategies,
  ) {
    super('client_secret_jwt', strategies);
  }

  matches(_req: FastifyRequest, params: OAuthParams): boolean {
    const alg = presentedAssertionAlg(params);
    return alg !== undefined && CLIENT_SECRET_JWT_ALGS.includes(alg);
  }

  async authenticateClient(req: FastifyRequest, params: OAuthParams): Promise<Client> {
    const client = await this.assertions.claimedClient(params, this.method);
    const secret = client.secretEncrypted && (await this.sealer.open(client.clientId, client.secretEncrypted));
    if (!secret) throw new ClientAuthFailure('wrong_secret', { client });
    let payload: JWTPayload;
    try {
      payload = await this.assertions.verify(req, params, client, Buffer.from(secret, 'utf8'), CLIENT_SECRET_JWT_ALGS);
    } catch (error) {
      throw this.assertions.failure(error, client);
    }
    await this.assertions.consume(client, payload);
    return client;
  }
}

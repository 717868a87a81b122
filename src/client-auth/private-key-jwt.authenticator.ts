import { Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { OAuthParams } from '../oauth/form';
import type { Client } from '../clients/client.entity';
import { ClientAssertionVerifier, presentedAssertionAlg, PRIVATE_KEY_JWT_ALGS } from './client-assertion.verifier';
import { ClientAuthFailure } from './client-auth-failure';
import { ClientAuthStrategies, CustomClientAuthStrategy } from './client-auth-strategies';
import { registeredKeys } from './client-keys';
import { JwksUriFetcher } from './jwks-uri.fetcher';

/**
 * RFC 7523 §2.2 signed with one of the client's registered keys (`jwks`, or `jwks_uri` fetched and
 * cached). An unknown kid refreshes a jwks_uri once (the client may have rotated its keys).
 * alg "none" and the HS* algorithms never match this method.
 */
@Injectable()
export class PrivateKeyJwtAuthenticator extends CustomClientAuthStrategy {
  declare readonly method: 'private_key_jwt';
  private readonly logger = new Logger(PrivateKeyJwtAuthenticator.name);

  constructor(
    private readonly assertions: ClientAssertionVerifier,
    private readonly fetcher: JwksUriFetcher,
    strategies: ClientAuthStrategies,
  ) {
    super('private_key_jwt', strategies);
  }

  matches(_req: FastifyRequest, params: OAuthParams): boolean {
    const alg = presentedAssertionAlg(params);
    return alg !== undefined && PRIVATE_KEY_JWT_ALGS.includes(alg);
  }

  async authenticateClient(req: FastifyRequest, params: OAuthParams): Promise<Client> {
    const client = await this.assertions.claimedClient(params, this.method);
    const verifyWith = (jwks: JSONWebKeySet) => this.assertions.verify(req, params, client, createLocalJWKSet(jwks), PRIVATE_KEY_JWT_ALGS);
    const keys = await this.keys(client);
    let payload: JWTPayload;
    try {
      payload = await verifyWith(keys);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || !client.jwksUri) throw this.assertions.failure(error, client);
      const refreshed = await this.keys(client, true);
      if (refreshed === keys) throw this.assertions.failure(error, client);
      payload = await verifyWith(refreshed).catch((retryError: unknown) => {
        throw this.assertions.failure(retryError, client);
      });
    }
    await this.assertions.consume(client, payload);
    return client;
  }

  private async keys(client: Client, refresh = false): Promise<JSONWebKeySet> {
    try {
      return await registeredKeys(client, this.fetcher, { refresh });
    } catch (error) {
      this.logger.warn(`jwks_uri of client "${client.clientId}" could not be used: ${(error as Error).message}`);
      throw new ClientAuthFailure('jwks_unavailable', { client });
    }
  }
}

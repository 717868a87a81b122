import { createHash, createPublicKey, type X509Certificate } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { JSONWebKeySet, JWK } from 'jose';
import type { OAuthParams } from '../oauth/form';
import type { Client } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { ClientAuthFailure } from './client-auth-failure';
import { ClientAuthStrategies, CustomClientAuthStrategy } from './client-auth-strategies';
import { ClientCertificates } from './client-certificates';
import { registeredKeys } from './client-keys';
import { JwksUriFetcher } from './jwks-uri.fetcher';
import { presentsCertificateOnly } from './tls-client-auth.authenticator';

/**
 * Whether a registered JWK stands for the presented certificate: its x5c[0] is that certificate,
 * its x5t#S256 is the certificate's SHA-256 thumbprint, or it is the certificate's public key.
 */
function keyMatchesCertificate(jwk: JWK, certificate: X509Certificate): boolean {
  if (Array.isArray(jwk.x5c) && typeof jwk.x5c[0] === 'string' && Buffer.from(jwk.x5c[0], 'base64').equals(certificate.raw)) return true;
  if (jwk['x5t#S256'] !== undefined && jwk['x5t#S256'] === createHash('sha256').update(certificate.raw).digest('base64url')) return true;
  try {
    return certificate.publicKey.equals(createPublicKey({ key: jwk as never, format: 'jwk' }));
  } catch {
    return false;
  }
}

/**
 * RFC 8705 §2.2 self-signed certificate mutual TLS: no chain is checked (the proxy accepts any
 * certificate, e.g. nginx `ssl_verify_client optional_no_ca`); the TLS handshake proved possession
 * of the private key, and the certificate must be one registered in the client's jwks or jwks_uri.
 */
@Injectable()
export class SelfSignedTlsClientAuthAuthenticator extends CustomClientAuthStrategy {
  declare readonly method: 'self_signed_tls_client_auth';
  private readonly logger = new Logger(SelfSignedTlsClientAuthAuthenticator.name);

  constructor(
    private readonly clients: ClientsService,
    private readonly certificates: ClientCertificates,
    private readonly fetcher: JwksUriFetcher,
    strategies: ClientAuthStrategies,
  ) {
    super('self_signed_tls_client_auth', strategies);
  }

  matches(req: FastifyRequest, params: OAuthParams): boolean {
    return presentsCertificateOnly(req, params, this.certificates);
  }

  async authenticateClient(req: FastifyRequest, params: OAuthParams): Promise<Client> {
    const client = await this.clients.findById(params.client_id);
    if (!client) throw new ClientAuthFailure('unknown_client', { clientId: params.client_id });
    if (client.tokenEndpointAuthMethod !== this.method) throw new ClientAuthFailure('wrong_method', { client, presented: this.method });
    const certificate = this.certificates.certificate(req);
    if (!certificate) throw new ClientAuthFailure('certificate_mismatch', { client });
    const matches = (jwks: JSONWebKeySet) => jwks.keys.some((jwk) => keyMatchesCertificate(jwk, certificate));
    const keys = await this.keys(client);
    if (matches(keys)) return client;
    // A new certificate the client has just published: fetch its jwks_uri again (rate-limited).
    if (client.jwksUri) {
      const refreshed = await this.keys(client, true);
      if (refreshed !== keys && matches(refreshed)) return client;
    }
    throw new ClientAuthFailure('certificate_mismatch', { client });
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

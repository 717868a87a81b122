import { Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Clock } from '../common/clock';
import type { OAuthParams } from '../oauth/form';
import type { Client } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { ClientAuthFailure } from './client-auth-failure';
import { ClientAuthStrategies, CustomClientAuthStrategy } from './client-auth-strategies';
import { hasBasicAuthorization } from './client-authenticator';
import { ClientCertificates } from './client-certificates';
import { certificateSubject, parseDistinguishedName, sameDistinguishedName } from '../clients/distinguished-name';

/** RFC 8705 §2: a client certificate from a trusted proxy, client_id in the body, and no other credential. */
export function presentsCertificateOnly(req: FastifyRequest, params: OAuthParams, certificates: ClientCertificates): boolean {
  return (
    params.client_id !== undefined &&
    params.client_secret === undefined &&
    params.client_assertion === undefined &&
    !hasBasicAuthorization(req) &&
    certificates.presented(req) !== undefined
  );
}

/**
 * RFC 8705 §2.1 PKI mutual TLS: the proxy verified the certificate chain against the CAs it trusts
 * (and says so in TRUSTED_CLIENT_CERT_VERIFY_HEADER when that is set); Gatehouse checks the validity
 * period and that the subject is the registered tls_client_auth_subject_dn (distinguished-name.ts).
 */
@Injectable()
export class TlsClientAuthAuthenticator extends CustomClientAuthStrategy {
  declare readonly method: 'tls_client_auth';
  private readonly logger = new Logger(TlsClientAuthAuthenticator.name);

  constructor(
    private readonly clients: ClientsService,
    private readonly certificates: ClientCertificates,
    private readonly clock: Clock,
    strategies: ClientAuthStrategies,
  ) {
    super('tls_client_auth', strategies);
  }

  matches(req: FastifyRequest, params: OAuthParams): boolean {
    return presentsCertificateOnly(req, params, this.certificates);
  }

  async authenticateClient(req: FastifyRequest, params: OAuthParams): Promise<Client> {
    const client = await this.clients.findById(params.client_id);
    if (!client) throw new ClientAuthFailure('unknown_client', { clientId: params.client_id });
    if (client.tokenEndpointAuthMethod !== this.method) throw new ClientAuthFailure('wrong_method', { client, presented: this.method });
    if (!client.tlsClientAuthSubjectDn) throw new ClientAuthFailure('certificate_mismatch', { client });
    const certificate = this.certificates.certificate(req);
    const registered = parseDistinguishedName(client.tlsClientAuthSubjectDn);
    if (!certificate || !registered) throw new ClientAuthFailure('certificate_mismatch', { client });
    if (!this.certificates.chainVerifiedByProxy(req)) {
      this.logger.debug(`Certificate of client "${client.clientId}" was not chain-verified by the proxy`);
      throw new ClientAuthFailure('certificate_mismatch', { client });
    }
    const now = this.clock.nowMs();
    const notBefore = Date.parse(certificate.validFrom);
    const notAfter = Date.parse(certificate.validTo);
    if (!(now >= notBefore && now <= notAfter)) {
      this.logger.debug(`Certificate of client "${client.clientId}" is outside its validity period`);
      throw new ClientAuthFailure('certificate_mismatch', { client });
    }
    let subject;
    try {
      subject = certificateSubject(certificate.raw);
    } catch {
      throw new ClientAuthFailure('certificate_mismatch', { client });
    }
    if (!sameDistinguishedName(subject, registered)) {
      this.logger.debug(`Certificate subject does not match the tls_client_auth_subject_dn of client "${client.clientId}"`);
      throw new ClientAuthFailure('certificate_mismatch', { client });
    }
    return client;
  }
}

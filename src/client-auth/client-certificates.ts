import { X509Certificate } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app-config';
import { addressMatcher } from '../common/ip-addresses';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const MAX_HEADER_LENGTH = 16 * 1024;

/**
 * The client certificate of a request (RFC 8705 §2), as the TLS-terminating proxy passes it on:
 * the header TRUSTED_CLIENT_CERT_HEADER, URL-encoded PEM as nginx's $ssl_client_escaped_cert (a
 * plain PEM or base64 DER is read too). The header is believed only when the TCP peer itself, not
 * X-Forwarded-For, is one of TRUSTED_PROXIES: anyone else could write it. Gatehouse does not
 * terminate TLS itself.
 */
@Injectable()
export class ClientCertificates {
  private readonly isTrustedProxy: (address: string | undefined) => boolean;

  constructor(private readonly config: AppConfig) {
    this.isTrustedProxy = addressMatcher(config.trustedProxies);
  }

  /** The header's value when a trusted proxy sent it; no parsing, no I/O. */
  presented(req: FastifyRequest): string | undefined {
    const header = this.config.trustedClientCertHeader;
    if (!header) return undefined;
    const value = req.headers[header];
    if (typeof value !== 'string' || value === '' || value.length > MAX_HEADER_LENGTH) return undefined;
    return this.isTrustedProxy(req.raw.socket?.remoteAddress) ? value : undefined;
  }

  /**
   * Whether the proxy says it verified the certificate chain against its CAs: its
   * TRUSTED_CLIENT_CERT_VERIFY_HEADER (nginx's $ssl_client_verify) reads "SUCCESS". Without that
   * setting, a certificate a trusted proxy passes on counts as verified (ssl_verify_client on/optional).
   */
  chainVerifiedByProxy(req: FastifyRequest): boolean {
    const header = this.config.trustedClientCertVerifyHeader;
    if (!header) return true;
    return req.headers[header] === 'SUCCESS' && this.isTrustedProxy(req.raw.socket?.remoteAddress);
  }

  /** The certificate a trusted proxy passed on, or null when there is none or it does not parse. */
  certificate(req: FastifyRequest): X509Certificate | null {
    const value = this.presented(req);
    if (!value) return null;
    try {
      const text = decodeURIComponent(value);
      const pem = PEM_CERTIFICATE.exec(text);
      if (pem) return new X509Certificate(pem[0]);
      const base64 = text.replace(/\s+/g, '');
      return /^[A-Za-z0-9+/]+=*$/.test(base64) ? new X509Certificate(Buffer.from(base64, 'base64')) : null;
    } catch {
      return null;
    }
  }
}

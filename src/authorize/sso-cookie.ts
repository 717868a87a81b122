import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app-config';
import { PageCookie } from './cookies';

/**
 * The single sign-on cookie (SPEC §5): the browser session's opaque value, HttpOnly, SameSite=Lax
 * (sent on the top-level navigations that bring the browser back from a relying party), Secure and
 * `__Host-` prefixed under an https issuer. The database holds only its SHA-256.
 */
@Injectable()
export class SsoCookie extends PageCookie {
  constructor(config: AppConfig) {
    super(config.issuer, 'gatehouse_sso');
  }

  value(req: FastifyRequest): string | null {
    return this.read(req);
  }
}

import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { bearerToken, INVALID_ACCESS_TOKEN } from '../oauth/bearer-token';
import { InsufficientScope, InvalidToken, MissingToken, OAuthError } from '../oauth/errors';
import { ADMIN_SCOPE } from '../oauth/scopes';
import { AccessTokensService } from '../tokens/access-tokens.service';
import { ADMIN_CLIENTS, type AdminClients } from './admin-clients';
import { ADMIN_ONLY, type AdminRequest } from './admin-only.decorator';

/**
 * The one guard of the admin API, global (APP_GUARD), acting on handlers marked @AdminOnly(). The
 * admin API is for admin clients acting for themselves (SPEC §6: client_credentials of an admin
 * client): a bearer access token (RFC 6750) with the admin scope, not issued to a user even if it
 * carries the scope, of a client that is still an enabled admin client.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly accessTokens: AccessTokensService,
    @Inject(ADMIN_CLIENTS) private readonly clients: AdminClients,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.reflector.getAllAndOverride<boolean | undefined>(ADMIN_ONLY, [context.getHandler(), context.getClass()])) return true;
    const req = context.switchToHttp().getRequest<FastifyRequest & AdminRequest>();
    const presented = bearerToken(req);
    if (!presented) throw new MissingToken();
    const token = await this.accessTokens.verify(presented);
    if (!token) throw new InvalidToken(INVALID_ACCESS_TOKEN);
    if (!token.scope.includes(ADMIN_SCOPE)) throw new InsufficientScope(ADMIN_SCOPE);
    if (token.userId) {
      throw new OAuthError('insufficient_scope', 'The admin API needs a client_credentials access token of an admin client', 403).withHeader(
        'WWW-Authenticate',
        `Bearer error="insufficient_scope", scope="${ADMIN_SCOPE}"`,
      );
    }
    if (!(await this.clients.isAdminClient(token.clientId, token.issuedAt))) {
      throw new InvalidToken('The client of this access token is no longer an enabled admin client');
    }
    req.adminClientId = token.clientId;
    return true;
  }
}

import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ClientsService } from '../clients/clients.service';
import { InvalidToken, MissingToken, OAuthError } from '../oauth/errors';
import { ADMIN_SCOPE } from '../oauth/scopes';
import type { BearerRequest } from '../tokens/bearer-token.guard';

/**
 * Runs after BearerTokenGuard on every admin endpoint. The admin API is for admin clients acting
 * for themselves (SPEC §6: client_credentials of an admin client), so a token issued to a user is
 * refused even if it carries the admin scope, and a token stops working at once when its client is
 * disabled, deleted or loses the admin scope, instead of staying valid until it expires.
 */
@Injectable()
export class AdminClientGuard implements CanActivate {
  constructor(private readonly clients: ClientsService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const token = context.switchToHttp().getRequest<BearerRequest>().accessToken;
    if (!token) throw new MissingToken();
    if (token.userId) {
      throw new OAuthError('insufficient_scope', 'The admin API needs a client_credentials access token of an admin client', 403).withHeader(
        'WWW-Authenticate',
        `Bearer error="insufficient_scope", scope="${ADMIN_SCOPE}"`,
      );
    }
    const client = await this.clients.findById(token.clientId);
    if (!client || client.disabled || !client.allowedScopes().has(ADMIN_SCOPE) || client.predates(token.issuedAt)) {
      throw new InvalidToken('The client of this access token is no longer an enabled admin client');
    }
    return true;
  }
}

import { Injectable } from '@nestjs/common';
import { InsufficientScope, InvalidToken } from '../oauth/errors';
import { ClientsService } from '../clients/clients.service';
import { AccessTokensService } from '../tokens/access-tokens.service';
import { userClaims } from '../users/claims';
import { UsersService } from '../users/users.service';

export const INVALID_TOKEN = 'The access token is invalid or expired';

/** OIDC Core §5.3: the claims of the user an access token was issued for, by the token's scope. */
@Injectable()
export class UserInfoService {
  constructor(
    private readonly accessTokens: AccessTokensService,
    private readonly users: UsersService,
    private readonly clients: ClientsService,
  ) {}

  async claims(accessToken: string): Promise<Record<string, unknown>> {
    const token = await this.accessTokens.verify(accessToken);
    // A client_credentials token has no user, so there is nobody to describe: invalid for this resource.
    if (!token?.userId) throw new InvalidToken(INVALID_TOKEN);
    if (!token.scope.includes('openid')) throw new InsufficientScope('openid');
    const [user, client] = await Promise.all([this.users.findById(token.userId), this.clients.findById(token.clientId)]);
    // Deleting or disabling a user ends their families already; this covers a token read in between.
    if (!user || user.disabled) throw new InvalidToken(INVALID_TOKEN);
    // As in Keycloak, the tokens of a disabled or deleted client (or of an earlier client registered
    // under the same client_id) no longer describe anyone, JWTs included.
    if (!client || client.disabled || client.predates(token.issuedAt)) throw new InvalidToken(INVALID_TOKEN);
    return { sub: user.id, ...userClaims(user, token.scope) };
  }
}

import { Injectable } from '@nestjs/common';
import { INVALID_ACCESS_TOKEN } from '../oauth/bearer-token';
import { InsufficientScope, InvalidToken } from '../oauth/errors';
import { ClientsService } from '../clients/clients.service';
import { PolicyService } from '../policy/policy.service';
import { AccessTokensService } from '../tokens/access-tokens.service';
import { userClaims } from '../users/claims';
import { UsersService } from '../users/users.service';

/** OIDC Core §5.3: the claims of the user an access token was issued for, by the token's scope. */
@Injectable()
export class UserInfoService {
  constructor(
    private readonly accessTokens: AccessTokensService,
    private readonly users: UsersService,
    private readonly clients: ClientsService,
    private readonly policy: PolicyService,
  ) {}

  async claims(accessToken: string): Promise<Record<string, unknown>> {
    const token = await this.accessTokens.verify(accessToken);
    // A client_credentials token has no user, so there is nobody to describe: invalid for this resource.
    if (!token?.userId) throw new InvalidToken(INVALID_ACCESS_TOKEN);
    if (!token.scope.includes('openid')) throw new InsufficientScope('openid');
    const [user, client, policy] = await Promise.all([this.users.findById(token.userId), this.clients.findById(token.clientId), this.policy.get()]);
    // Deleting or disabling a user ends their families already; the account rules of a login's
    // tokens (locked, disabled) cover a token read in between, and a user locked since.
    if (!user || this.policy.refusal(user, { stage: 'session' }, policy)) throw new InvalidToken(INVALID_ACCESS_TOKEN);
    // As in Keycloak, the tokens of a disabled or deleted client (or of an earlier client registered
    // under the same client_id) no longer describe anyone, JWTs included.
    if (!client || client.disabled || client.predates(token.issuedAt)) throw new InvalidToken(INVALID_ACCESS_TOKEN);
    return { sub: user.id, ...userClaims(user, token.scope) };
  }
}

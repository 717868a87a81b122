import { Inject, Injectable } from '@nestjs/common';
import { InvalidRequest, UnauthorizedClient, UnsupportedGrantType } from '../oauth/errors';
import { GRANT_HANDLERS, GrantHandler, TokenRequest } from './grant-handler';
import type { TokenResponse } from '../tokens/tokens.service';

/** Dispatches a token request to the handler of its grant_type; the controller never branches on it. */
@Injectable()
export class GrantRegistry {
  private readonly handlers: Map<string, GrantHandler>;

  constructor(@Inject(GRANT_HANDLERS) handlers: GrantHandler[]) {
    this.handlers = new Map(handlers.map((h) => [h.grantType, h]));
  }

  get grantTypes(): string[] {
    return [...this.handlers.keys()];
  }

  handle(request: TokenRequest): Promise<TokenResponse> {
    const grantType = request.params.grant_type;
    if (!grantType) throw new InvalidRequest('grant_type is required');
    const handler = this.handlers.get(grantType);
    if (!handler) throw new UnsupportedGrantType(`Unsupported grant_type "${grantType}"`);
    if (!(request.client.grantTypes as string[]).includes(grantType)) {
      throw new UnauthorizedClient(`The client is not allowed to use the ${grantType} grant`);
    }
    return handler.handle(request);
  }
}

import { Inject, Injectable } from '@nestjs/common';
import type { Client } from '../clients/client.entity';
import { InvalidRequest, UnauthorizedClient, UnsupportedGrantType } from '../oauth/errors';
import type { OAuthParams } from '../oauth/form';
import { GRANT_TYPES } from '../oauth/grant-types';
import type { GrantClass, GrantHandler } from './grant-handler';
import { parseParameters } from './grant-parameters';
import { GRANTS } from './grants';
import type { TokenResponse } from './token-response';

export const GRANT_HANDLERS = Symbol('GRANT_HANDLERS');

/**
 * Dispatches a token request to the handler of its grant_type; the controller never branches on it.
 * The request's parameters are parsed here, all of them, before the handler runs: the handler gets
 * typed values and never reads the raw form.
 */
@Injectable()
export class GrantRegistry {
  private readonly grants = new Map<string, { grant: GrantClass; handler: GrantHandler }>();

  constructor(@Inject(GRANT_HANDLERS) handlers: GrantHandler[]) {
    for (const grant of GRANTS) {
      const handler = handlers.find((h) => h instanceof grant);
      if (handler) this.grants.set(grant.grantType, { grant, handler });
    }
    const registered = [...this.grants.keys()].sort().join(' ');
    if (registered !== [...GRANT_TYPES].sort().join(' ')) {
      throw new Error(`The grant handlers (${registered}) are not the grant types clients may register (${GRANT_TYPES.join(' ')})`);
    }
  }

  get grantTypes(): string[] {
    return [...this.grants.keys()];
  }

  /** `ip` is the caller's address; `endUserIp` the end user's, when the client may forward it and did. */
  async handle(params: OAuthParams, client: Client, ip: string, endUserIp?: string): Promise<TokenResponse> {
    const grantType = params.grant_type;
    if (!grantType) throw new InvalidRequest('grant_type is required');
    const registered = this.grants.get(grantType);
    if (!registered) throw new UnsupportedGrantType(`Unsupported grant_type "${grantType}"`);
    if (!(client.grantTypes as string[]).includes(grantType)) {
      throw new UnauthorizedClient(`The client is not allowed to use the ${grantType} grant`);
    }
    const parsed = parseParameters(registered.grant.parameters, params, client);
    return registered.handler.handle({ params: parsed, client, ip: endUserIp ?? ip, ...(endUserIp ? { endUserIp } : {}) });
  }
}

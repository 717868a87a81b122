import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ClientAuthentication, type ClientRequest } from './client-authentication';

export type { ClientRequest } from './client-authentication';

const CONFIDENTIAL_CLIENTS_ONLY = 'gatehouse:confidential-clients-only';

/**
 * The endpoint is for confidential clients: a public client (`none`, client_id alone) proves
 * nothing about who calls, so it is `invalid_client` there, like bad credentials (introspection,
 * RFC 7662 §2.1 and SPEC §4).
 */
export const ConfidentialClientsOnly = () => SetMetadata(CONFIDENTIAL_CLIENTS_ONLY, true);

/** Client authentication (ClientAuthentication: passport over the strategies) as a guard, for the introspection and revocation controllers. */
@Injectable()
export class ClientAuthGuard implements CanActivate {
  constructor(
    private readonly authentication: ClientAuthentication,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const confidentialClientsOnly = !!this.reflector.getAllAndOverride<boolean | undefined>(CONFIDENTIAL_CLIENTS_ONLY, [context.getHandler(), context.getClass()]);
    await this.authentication.authenticate(context.switchToHttp().getRequest<ClientRequest>(), { confidentialClientsOnly });
    return true;
  }
}

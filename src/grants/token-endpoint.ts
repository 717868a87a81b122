import { Injectable, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ClientAuthentication, type ClientRequest } from '../client-auth/client-authentication';
import { oauthParams } from '../oauth/form';
import { toErrorResponse } from '../oauth/oauth-exception.filter';
import { forwardedEndUserIp } from './end-user-ip';
import { GrantRegistry } from './grant-registry';
import type { TokenResponse } from './token-response';

/**
 * The token endpoint (RFC 6749 §3.2): form parameters, client authentication, then the grant.
 *
 * `handle` is the whole endpoint. Nest routes TokenController to it (the controller carries the
 * OpenAPI description), and app.factory.ts hands Fastify `route` for those same POST routes in
 * place of Nest's handler: the busiest endpoint skips Nest's per-request execution context (guard,
 * interceptor and pipe consumers, the exception-filter lookup) and runs exactly the same code, with
 * errors rendered by the same toErrorResponse as the exception filter.
 */
@Injectable()
export class TokenEndpoint {
  private readonly logger = new Logger('Gatehouse');

  constructor(
    private readonly authentication: ClientAuthentication,
    private readonly grants: GrantRegistry,
  ) {}

  async handle(req: ClientRequest): Promise<TokenResponse> {
    // Form-encoded, no repeated parameter (RFC 6749 §3.2), before anything reads them.
    const params = oauthParams(req);
    const client = await this.authentication.authenticate(req, { confidentialClientsOnly: false });
    return this.grants.handle(params, client, req.ip, forwardedEndUserIp(req.headers, client));
  }

  /** A Fastify route handler for the token endpoint's POST routes (see above). */
  readonly route = (req: FastifyRequest, reply: FastifyReply): void => {
    this.handle(req).then(
      (body) => void reply.send(body),
      (error: unknown) => {
        const { status, body, headers } = toErrorResponse(error, this.logger, req);
        void reply.status(status).headers(headers).send(body);
      },
    );
  };
}

import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { InsufficientScope, InvalidToken, MissingToken } from '../oauth/errors';
import { AccessTokenInfo, AccessTokensService } from './access-tokens.service';

const REQUIRED_SCOPE = 'gatehouse:required-scope';

/** Requires a bearer access token (RFC 6750) carrying `scope`. */
export const RequireScope = (scope: string) => SetMetadata(REQUIRED_SCOPE, scope);

export type BearerRequest = FastifyRequest & { accessToken?: AccessTokenInfo };

const INVALID = 'The access token is invalid or expired';

/**
 * Reads the bearer token of the Authorization header (RFC 6750 §2.1): null when the request uses no
 * Bearer credentials at all (RFC 6750 §3.1: the challenge then carries no error code); a header
 * that names the Bearer scheme without a well-formed token is an invalid token.
 */
export function bearerToken(req: FastifyRequest): string | null {
  const header = req.headers.authorization;
  if (!header || !/^Bearer\b/i.test(header)) return null;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!match) throw new InvalidToken(INVALID);
  return match[1];
}

@Injectable()
export class BearerTokenGuard implements CanActivate {
  constructor(
    private readonly tokens: AccessTokensService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<BearerRequest>();
    const token = bearerToken(req);
    if (!token) throw new MissingToken();
    const info = await this.tokens.verify(token);
    if (!info) throw new InvalidToken(INVALID);
    const scope = this.reflector.getAllAndOverride<string | undefined>(REQUIRED_SCOPE, [context.getHandler(), context.getClass()]);
    if (scope && !info.scope.includes(scope)) throw new InsufficientScope(scope);
    req.accessToken = info;
    return true;
  }
}

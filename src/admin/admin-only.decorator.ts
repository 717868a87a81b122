import { applyDecorators, createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiOAuth2, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ADMIN_SCOPE } from '../oauth/scopes';

/** Metadata key the global AdminGuard reads. */
export const ADMIN_ONLY = 'gatehouse:admin-only';

/** A request the AdminGuard let through: the admin client it acts for. */
export interface AdminRequest {
  adminClientId?: string;
}

/**
 * Admin API endpoints (SPEC §6): a bearer access token with the `admin` scope, issued by
 * client_credentials to a client that is still an enabled admin client. It only marks the handler
 * or controller; the global AdminGuard (admin.guard.ts) enforces it, so a module with admin
 * endpoints imports nothing for it.
 */
export const AdminOnly = () =>
  applyDecorators(
    SetMetadata(ADMIN_ONLY, true),
    // Either scheme: Swagger UI's Authorize fetches the token itself (admin_client), or one pastes it (admin).
    ApiOAuth2([ADMIN_SCOPE], 'admin_client'),
    ApiBearerAuth('admin'),
    ApiUnauthorizedResponse({ description: 'Missing, invalid or expired bearer token' }),
    ApiForbiddenResponse({ description: 'The token lacks the admin scope' }),
  );

/** The client_id of the admin client making the request, for audit events. */
export const AdminActor = createParamDecorator((_data: unknown, context: ExecutionContext) => context.switchToHttp().getRequest<AdminRequest>().adminClientId);

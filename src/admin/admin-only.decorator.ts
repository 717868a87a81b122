import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ADMIN_SCOPE } from '../oauth/scopes';
import { BearerTokenGuard, RequireScope } from '../tokens/bearer-token.guard';
import { AdminClientGuard } from './admin-client.guard';

/**
 * Admin API endpoints: a bearer access token with the `admin` scope, issued by client_credentials to
 * a client that is still an enabled admin client. Modules using it import ClientsModule.
 */
export const AdminOnly = () =>
  applyDecorators(
    UseGuards(BearerTokenGuard, AdminClientGuard),
    RequireScope(ADMIN_SCOPE),
    ApiBearerAuth('admin'),
    ApiUnauthorizedResponse({ description: 'Missing, invalid or expired bearer token' }),
    ApiForbiddenResponse({ description: 'The token lacks the admin scope' }),
  );

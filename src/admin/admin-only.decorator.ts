import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ADMIN_SCOPE } from '../oauth/scopes';
import { BearerTokenGuard, RequireScope } from '../tokens/bearer-token.guard';

/** Admin API endpoints: a bearer access token with the `admin` scope (client_credentials of an admin client). */
export const AdminOnly = () =>
  applyDecorators(
    UseGuards(BearerTokenGuard),
    RequireScope(ADMIN_SCOPE),
    ApiBearerAuth('admin'),
    ApiUnauthorizedResponse({ description: 'Missing, invalid or expired bearer token' }),
    ApiForbiddenResponse({ description: 'The token lacks the admin scope' }),
  );

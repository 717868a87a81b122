import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminActor, AdminOnly } from '../admin/admin-only.decorator';
import { AuditService } from '../audit/audit.service';
import { toClientResponse } from '../clients/client.mapper';
import { ClientsService } from '../clients/clients.service';
import { ClientResponseDto } from '../clients/dto/client.dto';
import { ClientAuthAttempts } from './client-auth-attempts.service';

/** The admin side of client lockout (the lock and its counts belong to client authentication). */
@ApiTags('Admin: clients')
@AdminOnly()
@Controller('admin/clients')
export class AdminClientLockoutController {
  constructor(
    private readonly clients: ClientsService,
    private readonly attempts: ClientAuthAttempts,
    private readonly audit: AuditService,
  ) {}

  @Post(':client_id/unlock')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Unlock the client and reset its failed-authentication counts',
    description:
      'Lifts a lock taken by the policy\'s client_lockout_threshold and clears the failure counts of the client_id, the ' +
      'per-address ones (CLIENT_AUTH_FAILURE_LIMIT) included, on every instance. Answers the client; succeeds when nothing was locked.',
  })
  @ApiOkResponse({ type: ClientResponseDto })
  @ApiNotFoundResponse({ description: 'No client has this client_id' })
  async unlock(@Param('client_id') clientId: string, @AdminActor() actor: string | undefined): Promise<ClientResponseDto> {
    const client = await this.clients.get(clientId);
    const cleared = await this.attempts.unlock(client.clientId);
    await this.audit.record({ type: 'admin.client.unlocked', clientId: client.clientId, details: { by: actor ?? null, cleared } });
    return toClientResponse(client);
  }
}

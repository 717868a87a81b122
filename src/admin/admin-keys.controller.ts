import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditService } from '../audit/audit.service';
import { KeysService } from '../keys/keys.service';
import { AdminActor, AdminOnly } from './admin-only.decorator';

@ApiTags('Admin: keys')
@AdminOnly()
@Controller('admin/keys')
export class AdminKeysController {
  constructor(
    private readonly keys: KeysService,
    private readonly audit: AuditService,
  ) {}

  @Post('rotate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Make new signing keys current; the previous ones stay in the JWKS until their tokens expire',
    description: 'The new keys are published at once and sign tokens CACHE_TTL_SECONDS later, once every instance publishes them; until then the previous keys sign.',
  })
  @ApiOkResponse({ description: '{"kids": [new key ids]}' })
  async rotate(@AdminActor() actor: string | undefined): Promise<{ kids: string[] }> {
    const result = await this.keys.rotate();
    await this.audit.record({ type: 'admin.keys.rotated', clientId: actor, details: result });
    return result;
  }
}

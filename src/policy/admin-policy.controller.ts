import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminActor, AdminOnly } from '../admin/admin-only.decorator';
import { PolicyDto } from './policy.dto';
import { PolicyService, toPolicyDto } from './policy.service';

@ApiTags('Admin: policy')
@AdminOnly()
@Controller('admin/policy')
export class AdminPolicyController {
  constructor(private readonly policy: PolicyService) {}

  @Get()
  @ApiOperation({ summary: 'The security policy' })
  @ApiOkResponse({ type: PolicyDto })
  async get(): Promise<PolicyDto> {
    return toPolicyDto(await this.policy.get());
  }

  @Put()
  @ApiOperation({ summary: 'Replace the security policy; takes effect immediately on every instance' })
  @ApiOkResponse({ type: PolicyDto })
  @ApiBadRequestResponse({ description: 'Validation failed; `fields` names each bad field' })
  async put(@Body() dto: PolicyDto, @AdminActor() actor: string | undefined): Promise<PolicyDto> {
    return toPolicyDto(await this.policy.update(dto, actor));
  }
}

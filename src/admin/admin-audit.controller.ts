import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { AuditService } from '../audit/audit.service';
import { AdminOnly } from './admin-only.decorator';

export class AuditQueryDto {
  @ApiPropertyOptional({ description: 'User id' }) @IsOptional() @IsString() @MaxLength(36) user?: string;
  @ApiPropertyOptional({ description: 'client_id' }) @IsOptional() @IsString() @MaxLength(128) client?: string;
  @ApiPropertyOptional({ description: 'Event type, e.g. login.failure' }) @IsOptional() @IsString() @MaxLength(64) type?: string;
  @ApiPropertyOptional({ default: 100, maximum: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

@ApiTags('Admin: audit')
@AdminOnly()
@Controller('admin/audit-events')
export class AdminAuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: 'Audit events, newest first (login success/failure, locks, token issue, revoke, admin changes)' })
  @ApiOkResponse({ description: 'Array of {id, type, user_id, client_id, ip, details, created_at}' })
  async list(@Query() query: AuditQueryDto) {
    const events = await this.audit.find(query);
    return events.map((e) => ({
      id: e.id,
      type: e.type,
      user_id: e.userId,
      client_id: e.clientId,
      ip: e.ip,
      details: e.details,
      created_at: e.createdAt.toISOString(),
    }));
  }
}

import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AdminActor, AdminOnly } from '../admin/admin-only.decorator';
import { TotpEnrolmentResponseDto } from './dto/totp.dto';
import { BrowserSessionResponseDto } from './dto/browser-session.dto';
import { CreateUserDto, SetPasswordDto, UpdateUserDto, UserResponseDto, UserSearchQuery } from './dto/user.dto';
import { TotpService } from './totp.service';
import { UsersService } from './users.service';

@ApiTags('Admin: users')
@AdminOnly()
@Controller('admin/users')
export class AdminUsersController {
  constructor(
    private readonly users: UsersService,
    private readonly totp: TotpService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create a user; the password is stored as an argon2id hash and never returned' })
  @ApiCreatedResponse({ type: UserResponseDto })
  @ApiBadRequestResponse({ description: 'Validation failed; `fields` names each bad field' })
  @ApiConflictResponse({ description: 'username, email or phone_number already taken' })
  async create(@Body() dto: CreateUserDto, @AdminActor() actor: string | undefined): Promise<UserResponseDto> {
    return this.users.toResponse(await this.users.create(dto, actor));
  }

  @Get()
  @ApiOperation({ summary: 'List users, optionally searching username, email and phone number' })
  @ApiOkResponse({ type: [UserResponseDto] })
  async list(@Query() query: UserSearchQuery): Promise<UserResponseDto[]> {
    return this.users.toResponses(await this.users.search(query));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a user' })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiNotFoundResponse()
  async get(@Param('id') id: string): Promise<UserResponseDto> {
    return this.users.toResponse(await this.users.get(id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a user; disabling a user ends their sessions' })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiNotFoundResponse()
  @ApiConflictResponse()
  async update(@Param('id') id: string, @Body() dto: UpdateUserDto, @AdminActor() actor: string | undefined): Promise<UserResponseDto> {
    return this.users.toResponse(await this.users.update(id, dto, actor));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user and end their sessions' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  async remove(@Param('id') id: string, @AdminActor() actor: string | undefined): Promise<void> {
    await this.users.remove(id, actor);
  }

  @Post(':id/password')
  @HttpCode(200)
  @ApiOperation({ summary: 'Set the password, with its flags (initial, expiry, change required)' })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiNotFoundResponse()
  async setPassword(@Param('id') id: string, @Body() dto: SetPasswordDto, @AdminActor() actor: string | undefined): Promise<UserResponseDto> {
    return this.users.toResponse(await this.users.setPassword(id, dto, actor));
  }

  @Post(':id/lock')
  @HttpCode(200)
  @ApiOperation({ summary: 'Lock the user until unlocked' })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiNotFoundResponse()
  async lock(@Param('id') id: string, @AdminActor() actor: string | undefined): Promise<UserResponseDto> {
    return this.users.toResponse(await this.users.lock(id, actor));
  }

  @Post(':id/unlock')
  @HttpCode(200)
  @ApiOperation({ summary: 'Unlock the user and reset the failed-login counter' })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiNotFoundResponse()
  async unlock(@Param('id') id: string, @AdminActor() actor: string | undefined): Promise<UserResponseDto> {
    return this.users.toResponse(await this.users.unlock(id, actor));
  }

  @Post(':id/totp')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Enrol the user in TOTP two-factor authentication; the secret is returned only here',
    description:
      'A new 160-bit secret replaces any previous one. When the client or the user has require_mfa, the user then logs in ' +
      'with the 6-digit code appended to the password (RFC 6238, SHA-1, 30 s steps, one step of clock drift either side).',
  })
  @ApiCreatedResponse({ type: TotpEnrolmentResponseDto })
  @ApiNotFoundResponse()
  async enrolTotp(@Param('id') id: string, @AdminActor() actor: string | undefined): Promise<TotpEnrolmentResponseDto> {
    const { secret, otpauthUri } = await this.totp.enrol(id, actor);
    return { secret, otpauth_uri: otpauthUri };
  }

  @Delete(':id/totp')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove the TOTP enrolment (a user or client requiring MFA then gets "MFA enrollment required")' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  async removeTotp(@Param('id') id: string, @AdminActor() actor: string | undefined): Promise<void> {
    await this.totp.remove(id, actor);
  }

  @Get(':id/sessions')
  @ApiOperation({
    summary: "The user's live browser (single sign-on) sessions, newest first",
    description: 'Each with the clients it signed in to, when it started and was last used, the last login and the address; never the session id or cookie.',
  })
  @ApiOkResponse({ type: [BrowserSessionResponseDto] })
  @ApiNotFoundResponse()
  async sessions(@Param('id') id: string): Promise<BrowserSessionResponseDto[]> {
    return (await this.users.browserSessionsOf(id)).map((s) => ({
      clients: s.clients,
      created_at: s.createdAt.toISOString(),
      last_seen_at: s.lastSeenAt.toISOString(),
      auth_time: s.authTime.toISOString(),
      expires_at: s.expiresAt.toISOString(),
      ip: s.ip,
      user_agent: s.userAgent,
    }));
  }

  @Delete(':id/sessions')
  @HttpCode(204)
  @ApiOperation({
    summary: 'End every session of the user: refresh-token families and browser (single sign-on) sessions',
    description: 'The clients the browser sessions signed in to get back-channel logout tokens.',
  })
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  async endSessions(@Param('id') id: string, @AdminActor() actor: string | undefined): Promise<void> {
    await this.users.endSessions(id, actor);
  }
}

import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
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
import { toClientResponse } from './client.mapper';
import { ClientsService } from './clients.service';
import { ClientResponseDto, ClientSecretResponseDto, CreateClientDto, UpdateClientDto } from './dto/client.dto';

@ApiTags('Admin: clients')
@AdminOnly()
@Controller('admin/clients')
export class AdminClientsController {
  constructor(private readonly clients: ClientsService) {}

  @Post()
  @ApiOperation({ summary: 'Register a client (RFC 7591 metadata); the secret is returned only here' })
  @ApiCreatedResponse({ type: ClientResponseDto })
  @ApiBadRequestResponse({ description: 'Validation failed; `fields` names each bad field' })
  @ApiConflictResponse({ description: 'client_id already exists' })
  async create(@Body() dto: CreateClientDto, @AdminActor() actor: string | undefined): Promise<ClientResponseDto> {
    const { client, secret } = await this.clients.create(dto, actor);
    return toClientResponse(client, secret);
  }

  @Get()
  @ApiOperation({ summary: 'List clients' })
  @ApiOkResponse({ type: [ClientResponseDto] })
  async list(): Promise<ClientResponseDto[]> {
    return (await this.clients.list()).map((c) => toClientResponse(c));
  }

  @Get(':client_id')
  @ApiOperation({ summary: 'Get a client' })
  @ApiOkResponse({ type: ClientResponseDto })
  @ApiNotFoundResponse()
  async get(@Param('client_id') clientId: string): Promise<ClientResponseDto> {
    return toClientResponse(await this.clients.get(clientId));
  }

  @Patch(':client_id')
  @ApiOperation({ summary: 'Change a client; a public client made confidential gets a secret, returned once' })
  @ApiOkResponse({ type: ClientResponseDto })
  @ApiNotFoundResponse()
  async update(@Param('client_id') clientId: string, @Body() dto: UpdateClientDto, @AdminActor() actor: string | undefined): Promise<ClientResponseDto> {
    const { client, secret } = await this.clients.update(clientId, dto, actor);
    return toClientResponse(client, secret);
  }

  @Delete(':client_id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a client',
    description: 'Also ends its sessions (refresh-token families), revokes its opaque access tokens and discards its authorization codes.',
  })
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  async remove(@Param('client_id') clientId: string, @AdminActor() actor: string | undefined): Promise<void> {
    await this.clients.remove(clientId, actor);
  }

  @Post(':client_id/secret')
  @HttpCode(200)
  @ApiOperation({ summary: 'Rotate the client secret; the new one is returned only here' })
  @ApiOkResponse({ type: ClientSecretResponseDto })
  @ApiNotFoundResponse()
  async rotateSecret(@Param('client_id') clientId: string, @AdminActor() actor: string | undefined): Promise<ClientSecretResponseDto> {
    return { client_id: clientId, client_secret: await this.clients.rotateSecret(clientId, actor) };
  }
}

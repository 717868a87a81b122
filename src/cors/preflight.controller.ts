import { Controller, HttpCode, Options, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CORS_ENDPOINTS } from '../oauth/endpoints';
import { CorsService } from './cors.service';

@ApiTags('CORS')
@Controller()
export class PreflightController {
  constructor(private readonly cors: CorsService) {}

  @Options(CORS_ENDPOINTS.flatMap((e) => e.paths))
  @HttpCode(204)
  @ApiOperation({
    summary: 'CORS preflight (browser apps)',
    description:
      'Discovery and JWKS: any origin. Token, UserInfo and revocation: an origin that some enabled client registered ' +
      '(the origins of its redirect_uris, or its allowed_cors_origins) gets Access-Control-Allow-Origin with the methods, ' +
      '`Authorization, Content-Type` and Max-Age 600; any other origin gets no CORS headers. The response itself is then ' +
      'readable only from the origins of the client it is for. Never with credentials. An OPTIONS request that is not a ' +
      'preflight (without Origin and Access-Control-Request-Method) is 405.',
  })
  @ApiHeader({ name: 'Origin', required: true })
  @ApiHeader({ name: 'Access-Control-Request-Method', required: true })
  @ApiNoContentResponse({ description: 'The preflight answer; CORS headers only for an allowed origin' })
  async preflight(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    void reply.headers(await this.cors.preflightHeaders(req));
  }
}

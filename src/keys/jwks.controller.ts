import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiOtherMethodsRefused, OAUTH_ENDPOINTS } from '../oauth/endpoints';
import { KeysService } from './keys.service';

@ApiTags('OpenID Connect')
@ApiOtherMethodsRefused(OAUTH_ENDPOINTS.jwks)
@Controller()
export class JwksController {
  constructor(private readonly keys: KeysService) {}

  @Get(OAUTH_ENDPOINTS.jwks.paths)
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({ summary: 'Public signing keys (JWKS, RFC 7517)' })
  @ApiOkResponse({ description: '{"keys": [JWK, ...]}' })
  jwks() {
    return this.keys.jwks();
  }
}

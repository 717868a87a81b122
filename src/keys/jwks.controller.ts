import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { KeysService } from './keys.service';

@ApiTags('OpenID Connect')
@Controller()
export class JwksController {
  constructor(private readonly keys: KeysService) {}

  @Get(['oauth2/jwks', '.well-known/jwks.json'])
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({ summary: 'Public signing keys (JWKS, RFC 7517)' })
  @ApiOkResponse({ description: '{"keys": [JWK, ...]}' })
  jwks() {
    return this.keys.jwks();
  }
}

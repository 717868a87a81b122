import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiOtherMethodsRefused, OAUTH_ENDPOINTS } from '../oauth/endpoints';
import { PasswordEncryptionKeysDto, VendorSystemKeysDto } from './dto/password-keys.dto';
import { PasswordKeysService, RSA_TRANSPORT_ALG } from './password-keys.service';

const PUBLIC_CACHE = 'public, max-age=300';

/** Public keys for password transport encryption (SPEC §3.3, `password_encrypt_type=rsa|sm2`). */
@ApiTags('OAuth 2.0')
@Controller()
export class PasswordKeysController {
  constructor(private readonly keys: PasswordKeysService) {}

  @Get(OAUTH_ENDPOINTS.passwordEncryptionKeys.paths)
  @ApiOtherMethodsRefused(OAUTH_ENDPOINTS.passwordEncryptionKeys)
  @Header('Cache-Control', PUBLIC_CACHE)
  @ApiOperation({
    summary: 'Public keys for password transport encryption',
    description:
      'Encrypt the password with one of these keys and send it to the password grant with password_encrypt_type=rsa ' +
      '(base64 of the RSA-OAEP-256 ciphertext) or sm2 (hex C1C3C2 ciphertext, C1 with or without its leading 04).',
  })
  @ApiOkResponse({ type: PasswordEncryptionKeysDto })
  async passwordEncryptionKeys(): Promise<PasswordEncryptionKeysDto> {
    const { rsa, sm2 } = await this.keys.publicKeys();
    return {
      rsa: { kid: rsa.kid, public_key: rsa.publicKeyPem, algorithm: RSA_TRANSPORT_ALG },
      sm2: { kid: sm2.kid, public_key: sm2.publicKeyHex, cipher_mode: 'C1C3C2' },
    };
  }

  @Get(OAUTH_ENDPOINTS.vendorSystemKeys.paths)
  @ApiOtherMethodsRefused(OAUTH_ENDPOINTS.vendorSystemKeys)
  @Header('Cache-Control', PUBLIC_CACHE)
  @ApiOperation({ summary: 'The same password transport keys, in the shape of the vendor API that SDKs built for it read' })
  @ApiOkResponse({ type: VendorSystemKeysDto })
  async vendorSystem(): Promise<VendorSystemKeysDto> {
    const { rsa, sm2 } = await this.keys.publicKeys();
    return { rsa: { publicKey: rsa.publicKeyPem }, sm2: { publicKey: sm2.publicKeyHex } };
  }
}

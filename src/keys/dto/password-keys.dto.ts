import { ApiProperty } from '@nestjs/swagger';

export class RsaPasswordKeyDto {
  @ApiProperty({ description: 'Key id (JWK thumbprint, RFC 7638)' }) kid!: string;
  @ApiProperty({ description: 'RSA-2048 public key, SPKI PEM', example: '-----BEGIN PUBLIC KEY-----\nMIIBIjANBg…\n-----END PUBLIC KEY-----\n' })
  public_key!: string;
  @ApiProperty({ enum: ['RSA-OAEP-256'], description: 'RSA-OAEP with SHA-256 and MGF1-SHA-256' }) algorithm!: 'RSA-OAEP-256';
}

export class Sm2PasswordKeyDto {
  @ApiProperty({ description: 'Key id (SHA-256 of the public key, base64url)' }) kid!: string;
  @ApiProperty({ description: 'SM2 public key, hex, uncompressed point: "04" + x + y (130 digits)', example: '04a1b2…' }) public_key!: string;
  @ApiProperty({ enum: ['C1C3C2'], description: 'Ciphertext order expected (GB/T 32918.4-2016)' }) cipher_mode!: 'C1C3C2';
}

export class PasswordEncryptionKeysDto {
  @ApiProperty({ type: RsaPasswordKeyDto }) rsa!: RsaPasswordKeyDto;
  @ApiProperty({ type: Sm2PasswordKeyDto }) sm2!: Sm2PasswordKeyDto;
}

class VendorPublicKeyDto {
  @ApiProperty() publicKey!: string;
}

export class VendorSystemKeysDto {
  @ApiProperty({ type: VendorPublicKeyDto, description: 'The RSA public key, SPKI PEM' }) rsa!: VendorPublicKeyDto;
  @ApiProperty({ type: VendorPublicKeyDto, description: 'The SM2 public key, hex, uncompressed (04…)' }) sm2!: VendorPublicKeyDto;
}

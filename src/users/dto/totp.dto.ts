import { ApiProperty } from '@nestjs/swagger';

export class TotpEnrolmentResponseDto {
  @ApiProperty({ description: 'The shared secret, base32 (RFC 4648, unpadded, 160 bits); shown only here', example: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' })
  secret!: string;

  @ApiProperty({
    description: 'Key Uri Format for authenticator apps (render it as a QR code)',
    example: 'otpauth://totp/Gatehouse:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30',
  })
  otpauth_uri!: string;
}

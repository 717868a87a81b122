import { ApiProperty } from '@nestjs/swagger';

/** A browser single sign-on session as the admin API shows it: never its id or cookie. */
export class BrowserSessionResponseDto {
  @ApiProperty({ type: [String], description: 'The clients the session signed the user in to, first first' }) clients!: string[];
  @ApiProperty() created_at!: string;
  @ApiProperty({ description: 'Last use at the authorization endpoint; the idle lifetime counts from here' }) last_seen_at!: string;
  @ApiProperty({ description: 'The last time the user entered credentials in this session' }) auth_time!: string;
  @ApiProperty({ description: 'When it ends unless used again (idle), or at the latest (maximum lifetime)' }) expires_at!: string;
  @ApiProperty({ nullable: true, description: 'Client address of the login' }) ip!: string | null;
  @ApiProperty({ nullable: true }) user_agent!: string | null;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import { IsOmittable } from '../admin/validation';

export class PolicyDto {
  @ApiProperty({ description: 'Consecutive failed logins that lock the user', default: 5, minimum: 1, maximum: 100 })
  @IsInt()
  @Min(1)
  @Max(100)
  lockout_threshold!: number;

  @ApiProperty({ description: 'Lock duration in seconds; 0 = until an administrator unlocks', default: 900 })
  @IsInt()
  @Min(0)
  @Max(31536000)
  lockout_duration_seconds!: number;

  @ApiProperty({ description: 'Password lifetime in days; 0 = never expires', default: 0 })
  @IsInt()
  @Min(0)
  @Max(3650)
  password_max_age_days!: number;

  @ApiProperty({ description: 'Lifetime of an initial (admin-set) password in hours', default: 72 })
  @IsInt()
  @Min(1)
  @Max(8760)
  initial_password_ttl_hours!: number;

  @ApiProperty({ description: 'Seconds a rotated refresh token may still be presented once', default: 0 })
  @IsInt()
  @Min(0)
  @Max(300)
  refresh_token_grace_seconds!: number;

  @ApiProperty({
    description:
      'Consecutive failed authentications of a client_id (unknown ids are not counted) that lock it: every authentication of ' +
      'it then fails with invalid_client, correct credentials included, until the lock ends or an administrator unlocks it ' +
      '(POST /admin/clients/{id}/unlock). 0 = off. Anyone who knows a client_id can lock it out: see docs/client-authentication.md. ' +
      'Optional in a PUT: left out, the current value stays.',
    default: 0,
    minimum: 0,
    maximum: 1000,
    required: false,
  })
  @IsOmittable()
  @IsInt()
  @Min(0)
  @Max(1000)
  client_lockout_threshold?: number;

  @ApiProperty({
    description:
      'How long a locked client stays locked, and how long a failure counts toward the threshold, in seconds; ' +
      '0 = until an administrator unlocks. Optional in a PUT: left out, the current value stays.',
    default: 3600,
    minimum: 0,
    maximum: 31536000,
    required: false,
  })
  @IsOmittable()
  @IsInt()
  @Min(0)
  @Max(31536000)
  client_lockout_duration_seconds?: number;
  @ApiPropertyOptional({
    description: 'Browser single sign-on: a session unused at the authorization endpoint for this many seconds ends. Left out of a PUT: unchanged.',
    default: 1800,
    minimum: 1,
    maximum: 2592000,
  })
  @IsOmittable()
  @IsInt()
  @Min(1)
  @Max(2592000)
  sso_session_idle_seconds?: number;

  @ApiPropertyOptional({
    description: 'Browser single sign-on: a session ends this many seconds after it started, however much it is used. Left out of a PUT: unchanged.',
    default: 36000,
    minimum: 1,
    maximum: 31536000,
  })
  @IsOmittable()
  @IsInt()
  @Min(1)
  @Max(31536000)
  sso_session_max_seconds?: number;
}

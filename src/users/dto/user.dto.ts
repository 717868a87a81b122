import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsDateString,
  IsEmail,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  registerDecorator,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { IsOmittable } from '../../admin/validation';
import { isDirectoryUsername, normalizePhone } from '../identifiers';

export class AddressDto {
  @ApiPropertyOptional() @IsOmittable() @IsString() @MaxLength(1024) formatted?: string;
  @ApiPropertyOptional() @IsOmittable() @IsString() @MaxLength(255) street_address?: string;
  @ApiPropertyOptional() @IsOmittable() @IsString() @MaxLength(255) locality?: string;
  @ApiPropertyOptional() @IsOmittable() @IsString() @MaxLength(255) region?: string;
  @ApiPropertyOptional() @IsOmittable() @IsString() @MaxLength(32) postal_code?: string;
  @ApiPropertyOptional() @IsOmittable() @IsString() @MaxLength(255) country?: string;
}

/** A number that normalizePhone() turns into E.164. */
function IsInternationalPhone(): PropertyDecorator {
  return (object, propertyName) =>
    registerDecorator({
      name: 'isInternationalPhone',
      target: object.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be an international number (E.164, e.g. +4915112345678)' },
      validator: { validate: (value: unknown) => typeof value === 'string' && normalizePhone(value) !== null },
    });
}

/** SPEC §6 directory-style usernames (isDirectoryUsername). */
function IsUsername(): PropertyDecorator {
  return (object, propertyName) =>
    registerDecorator({
      name: 'isUsername',
      target: object.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be 1-255 printable characters without leading or trailing whitespace' },
      validator: { validate: (value: unknown) => typeof value !== 'string' || isDirectoryUsername(value) },
    });
}

const URL_OPTIONS = { require_tld: false, protocols: ['http', 'https'], require_protocol: true };

/** Password-state flags shared by user creation and POST /admin/users/{id}/password. */
export class PasswordFlagsDto {
  @ApiPropertyOptional({ description: 'An admin-set initial password: expires after initial_password_ttl_hours' })
  @IsOmittable()
  @IsBoolean()
  password_is_initial?: boolean;

  @ApiPropertyOptional({ description: 'ISO 8601 instant after which the password no longer logs in; null for none', nullable: true })
  @IsOptional()
  @IsDateString({ strict: true })
  password_expires_at?: string | null;

  @ApiPropertyOptional()
  @IsOmittable()
  @IsBoolean()
  password_change_required?: boolean;
}

export class SetPasswordDto extends PasswordFlagsDto {
  @ApiProperty({ minLength: 8, maxLength: 1024 })
  @IsString()
  @MinLength(8)
  @MaxLength(1024)
  password!: string;

  @ApiPropertyOptional({
    default: false,
    description:
      'Keep the user\'s sessions. By default setting a password ends them all: refresh tokens, access tokens and outstanding authorization codes.',
  })
  @IsOmittable()
  @IsBoolean()
  keep_sessions?: boolean;
}

export class CreateUserDto extends PasswordFlagsDto {
  @ApiPropertyOptional({ minLength: 8, maxLength: 1024, description: 'Required unless password_hash is given' })
  @ValidateIf((dto: CreateUserDto) => dto.password_hash === undefined)
  @IsString()
  @MinLength(8)
  @MaxLength(1024)
  password?: string;

  @ApiPropertyOptional({
    description:
      'A hash imported from another system instead of `password`: argon2 (PHC string, at least OWASP\'s minimum parameters, e.g. m=19456,t=2) or bcrypt ($2a$, $2b$, $2y$, cost 10..14). ' +
      'It is replaced by an argon2id hash at the next successful login. Never returned.',
    maxLength: 255,
    example: '$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy',
  })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  password_hash?: string;

  @ApiPropertyOptional({
    description:
      '1-255 printable characters without leading or trailing whitespace; `@`, `\\` and `.` allowed (directory login names such as ' +
      '`alice@corp.example` or `CORP\\alice`). Unique case-insensitively; stored lower-cased (Unicode NFC).',
    example: 'alice@corp.example',
    nullable: true,
    minLength: 1,
    maxLength: 255,
  })
  @IsOptional()
  @IsString()
  @IsUsername()
  username?: string | null;

  @ApiPropertyOptional({ description: 'Stored lower-cased', example: 'alice@example.com', nullable: true })
  @IsOptional()
  @IsEmail()
  @MaxLength(255)
  email?: string | null;

  @ApiPropertyOptional({ description: 'E.164; spaces, dots, hyphens, parentheses and a leading 00 are normalised away', example: '+4915112345678', nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  @IsInternationalPhone()
  phone_number?: string | null;

  @ApiPropertyOptional() @IsOmittable() @IsBoolean() email_verified?: boolean;
  @ApiPropertyOptional() @IsOmittable() @IsBoolean() phone_number_verified?: boolean;
  @ApiPropertyOptional() @IsOmittable() @IsBoolean() disabled?: boolean;
  @ApiPropertyOptional() @IsOmittable() @IsBoolean() require_mfa?: boolean;

  @ApiPropertyOptional({ type: [String] })
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(100)
  @ArrayUnique()
  @IsString({ each: true })
  @MaxLength(255, { each: true })
  groups?: string[];

  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsString() @MaxLength(255) name?: string | null;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsString() @MaxLength(255) given_name?: string | null;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsString() @MaxLength(255) family_name?: string | null;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsString() @MaxLength(255) middle_name?: string | null;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsString() @MaxLength(255) nickname?: string | null;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsUrl(URL_OPTIONS) @MaxLength(2048) profile?: string | null;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsUrl(URL_OPTIONS) @MaxLength(2048) picture?: string | null;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsUrl(URL_OPTIONS) @MaxLength(2048) website?: string | null;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsString() @MaxLength(32) gender?: string | null;

  @ApiPropertyOptional({ description: 'YYYY-MM-DD, or YYYY alone, or 0000-MM-DD (OIDC Core §5.1)', nullable: true })
  @IsOptional()
  @Matches(/^(\d{4}|\d{4}-\d{2}-\d{2})$/, { message: 'birthdate must be YYYY-MM-DD or YYYY' })
  birthdate?: string | null;

  @ApiPropertyOptional({ example: 'Europe/Berlin', nullable: true }) @IsOptional() @IsString() @MaxLength(64) zoneinfo?: string | null;
  @ApiPropertyOptional({ example: 'de-DE', nullable: true }) @IsOptional() @IsString() @MaxLength(35) locale?: string | null;

  @ApiPropertyOptional({ type: AddressDto, nullable: true })
  @IsOptional()
  @ValidateNested()
  @Type(() => AddressDto)
  address?: AddressDto;
}

/** null clears a field that may be empty (identifiers, profile claims, address, password_expires_at). */
export class UpdateUserDto extends PartialType(OmitType(CreateUserDto, ['password', 'password_hash'] as const), { skipNullProperties: false }) {}

export class UserSearchQuery {
  @ApiPropertyOptional({ description: 'Substring of username, email or phone number' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  search?: string;

  @ApiPropertyOptional({ default: 50, maximum: 200 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  offset?: number;
}

export class UserResponseDto {
  @ApiProperty({ description: 'The OIDC sub' }) id!: string;
  @ApiProperty({ nullable: true }) username!: string | null;
  @ApiProperty({ nullable: true }) email!: string | null;
  @ApiProperty() email_verified!: boolean;
  @ApiProperty({ nullable: true }) phone_number!: string | null;
  @ApiProperty() phone_number_verified!: boolean;
  @ApiProperty({ type: [String] }) groups!: string[];
  @ApiPropertyOptional() name?: string;
  @ApiPropertyOptional() given_name?: string;
  @ApiPropertyOptional() family_name?: string;
  @ApiPropertyOptional() middle_name?: string;
  @ApiPropertyOptional() nickname?: string;
  @ApiPropertyOptional() profile?: string;
  @ApiPropertyOptional() picture?: string;
  @ApiPropertyOptional() website?: string;
  @ApiPropertyOptional() gender?: string;
  @ApiPropertyOptional() birthdate?: string;
  @ApiPropertyOptional() zoneinfo?: string;
  @ApiPropertyOptional() locale?: string;
  @ApiPropertyOptional({ type: AddressDto }) address?: AddressDto;
  @ApiProperty() disabled!: boolean;
  @ApiProperty() require_mfa!: boolean;
  @ApiProperty({ description: 'Locked by an administrator or by failed logins' }) locked!: boolean;
  @ApiProperty() failed_login_count!: number;
  @ApiProperty() mfa_enrolled!: boolean;
  @ApiProperty() password_is_initial!: boolean;
  @ApiProperty({ nullable: true }) password_expires_at!: string | null;
  @ApiProperty() password_change_required!: boolean;
  @ApiProperty() password_changed_at!: string;
  @ApiProperty() created_at!: string;
  @ApiProperty() updated_at!: string;
}



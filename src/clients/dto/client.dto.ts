import type { JWK } from 'jose';
import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  registerDecorator,
} from 'class-validator';
import { IsOmittable } from '../../admin/validation';
import { jwksProblem } from '../client-jwks';
import { SIGNING_ALGS } from '../../keys/keys.service';
import { isWebOrigin } from '../origin';
import { isAllowedRedirectUri } from '../redirect-uri';
import { GRANT_TYPES, type GrantType } from '../../oauth/grant-types';
import { TOKEN_ENDPOINT_AUTH_METHODS, type TokenEndpointAuthMethod } from '../client.entity';

/** An absolute URI without a fragment (RFC 6749 §3.1.2); custom schemes are allowed for native apps. */
function IsRedirectUri(): PropertyDecorator {
  return (object, propertyName) =>
    registerDecorator({
      name: 'isRedirectUri',
      target: object.constructor,
      propertyName: propertyName as string,
      options: {
        each: true,
        message:
          '$property must contain absolute URIs of RFC 3986 characters (no spaces, control or non-ASCII characters), without a fragment, and not javascript:, data: or file:',
      },
      validator: { validate: (value: unknown) => isAllowedRedirectUri(value) },
    });
}

/** A web origin exactly as a browser sends it in the Origin header (SPEC §4 CORS). */
function IsWebOrigin(): PropertyDecorator {
  return (object, propertyName) =>
    registerDecorator({
      name: 'isWebOrigin',
      target: object.constructor,
      propertyName: propertyName as string,
      options: {
        each: true,
        message:
          '$property must contain origins as browsers send them: scheme://host[:port] (http or https, lower case, no path or trailing slash, no default port), e.g. https://app.example.com',
      },
      validator: { validate: (value: unknown) => isWebOrigin(value) },
    });
}

/** A JWK Set of public signing keys (RFC 7517 §5), as private_key_jwt and self_signed_tls_client_auth need. */
function IsPublicJwks(): PropertyDecorator {
  return (object, propertyName) =>
    registerDecorator({
      name: 'isPublicJwks',
      target: object.constructor,
      propertyName: propertyName as string,
      options: { message: (args) => `$property ${jwksProblem(args.value)}` },
      validator: { validate: (value: unknown) => jwksProblem(value) === null },
    });
}

const SCOPE_LIST = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;
/** Audiences (RFC 7519 StringOrURI values), separated by single spaces as scopes are. */
const AUDIENCE_LIST = /^[^\s\p{Cc}]+( [^\s\p{Cc}]+)*$/u;

/** RFC 7591 client metadata, plus Gatehouse's token policy fields. */
export class CreateClientDto {
  @ApiPropertyOptional({ description: 'Generated when absent', example: 'my-backend' })
  @IsOmittable()
  @IsString()
  @Matches(/^[\x21-\x7e]{1,128}$/, { message: 'client_id must be 1-128 printable ASCII characters without spaces' })
  client_id?: string;

  @ApiPropertyOptional({ example: 'My backend', nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  client_name?: string | null;

  @ApiPropertyOptional({
    description:
      'At least 32 characters; generated (256 bits) when absent. Returned only once. Only for client_secret_basic, client_secret_post and client_secret_jwt.',
  })
  @IsOmittable()
  @IsString()
  @MinLength(32)
  @MaxLength(512)
  client_secret?: string;

  @ApiPropertyOptional({ enum: TOKEN_ENDPOINT_AUTH_METHODS, default: 'client_secret_basic' })
  @IsOmittable()
  @IsIn(TOKEN_ENDPOINT_AUTH_METHODS)
  token_endpoint_auth_method?: TokenEndpointAuthMethod;

  @ApiPropertyOptional({ enum: GRANT_TYPES, isArray: true, default: ['authorization_code'] })
  @IsOmittable()
  @IsArray()
  @ArrayUnique()
  @IsIn(GRANT_TYPES, { each: true })
  grant_types?: GrantType[];

  @ApiPropertyOptional({ type: [String], example: ['https://app.example.com/callback'] })
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(50)
  @IsRedirectUri()
  redirect_uris?: string[];

  @ApiPropertyOptional({
    type: [String],
    default: [],
    example: ['https://app.example.com'],
    description:
      'Origins of browser apps (single-page apps) that may call the token, UserInfo and revocation endpoints with CORS, ' +
      'besides the origins of redirect_uris, which are always allowed. scheme://host[:port] exactly as browsers send it in the Origin header.',
  })
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsWebOrigin()
  allowed_cors_origins?: string[];

  @ApiPropertyOptional({
    type: [String],
    default: [],
    example: ['https://app.example.com/signed-out'],
    description:
      'RP-Initiated Logout 1.0: where the end_session_endpoint may send the browser after logout (post_logout_redirect_uri, exact match), ' +
      'with the same rules as redirect_uris',
  })
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(50)
  @IsRedirectUri()
  post_logout_redirect_uris?: string[];

  @ApiPropertyOptional({
    nullable: true,
    example: 'https://app.example.com/backchannel-logout',
    description:
      'Back-Channel Logout 1.0: Gatehouse POSTs a signed logout_token (typ logout+jwt) here when a browser session this client signed in with ends ' +
      '(logout at the end_session_endpoint, or an administrator ending the user\'s sessions); http or https, no fragment',
  })
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  @MaxLength(2048)
  @Matches(/^[^#]*$/, { message: 'backchannel_logout_uri must not have a fragment' })
  backchannel_logout_uri?: string | null;

  @ApiPropertyOptional({ default: false, description: 'Back-Channel Logout 1.0: the client needs sid in logout tokens (Gatehouse always sends it)' })
  @IsOmittable()
  @IsBoolean()
  backchannel_logout_session_required?: boolean;

  @ApiPropertyOptional({
    default: true,
    description:
      'When the browser session ends (logout, or an administrator), also end the refresh tokens (token families) this client got from that session. ' +
      'false keeps them working, as offline tokens would.',
  })
  @IsOmittable()
  @IsBoolean()
  logout_revokes_refresh_tokens?: boolean;

  @ApiPropertyOptional({
    description: 'Space-separated scopes the client may request, custom ones included',
    default: 'openid profile email address phone offline_access groups',
  })
  @IsOmittable()
  @IsString()
  @MaxLength(4096)
  @Matches(SCOPE_LIST, { message: 'scope must be space-separated scope tokens' })
  scope?: string;

  @ApiPropertyOptional({ description: 'Scope used when a request has none; a subset of scope', default: 'openid profile' })
  @IsOmittable()
  @IsString()
  @MaxLength(1024)
  @Matches(SCOPE_LIST, { message: 'default_scope must be space-separated scope tokens' })
  default_scope?: string;

  @ApiPropertyOptional({
    description:
      'Public keys (JWK Set) for private_key_jwt and self_signed_tls_client_auth: RSA (>= 2048 bits), EC P-256/384/521 or Ed25519, ' +
      'no private members; for self_signed_tls_client_auth a key matches the certificate by x5c[0], x5t#S256 or its public key. Not together with jwks_uri.',
    type: 'object',
    additionalProperties: true,
    nullable: true,
    example: { keys: [{ kty: 'EC', crv: 'P-256', x: '…', y: '…', kid: 'k1' }] },
  })
  @IsOptional()
  @IsObject()
  @IsPublicJwks()
  jwks?: { keys: JWK[] } | null;

  @ApiPropertyOptional({
    nullable: true,
    description: 'URL of the client\'s JWK Set (instead of jwks); fetched with a 5 s timeout and a 256 KiB limit, cached 5 minutes',
  })
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  @MaxLength(2048)
  jwks_uri?: string | null;

  @ApiPropertyOptional({
    nullable: true,
    description: 'tls_client_auth: the certificate subject, RFC 4514 (or OpenSSL /C=../CN=.. form); compared per attribute, case-, order- and whitespace-insensitively',
    example: 'CN=billing.example.com,O=Example GmbH,C=DE',
  })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  tls_client_auth_subject_dn?: string | null;

  @ApiPropertyOptional({ default: false })
  @IsOmittable()
  @IsBoolean()
  require_pkce?: boolean;

  @ApiPropertyOptional({ default: false })
  @IsOmittable()
  @IsBoolean()
  require_mfa?: boolean;

  @ApiPropertyOptional({
    default: false,
    description:
      'A confidential client (a backend using the password grant) may send its end user\'s address in the Gatehouse-End-User-IP header: ' +
      'its failed logins then also count per (client, that address) under LOGIN_RATE_LIMIT, and audit events record that address. Refused for `none` clients.',
  })
  @IsOmittable()
  @IsBoolean()
  trust_end_user_ip_header?: boolean;

  @ApiPropertyOptional({ default: false })
  @IsOmittable()
  @IsBoolean()
  allow_pkce_plain?: boolean;

  @ApiPropertyOptional({ enum: ['jwt', 'opaque'], default: 'jwt' })
  @IsOmittable()
  @IsIn(['jwt', 'opaque'])
  access_token_format?: 'jwt' | 'opaque';

  @ApiPropertyOptional({ description: 'Seconds, 60..86400', default: 3600 })
  @IsOmittable()
  @IsInt()
  @Min(60)
  @Max(86400)
  access_token_ttl?: number;

  @ApiPropertyOptional({ description: 'Seconds, 60..86400', default: 3600 })
  @IsOmittable()
  @IsInt()
  @Min(60)
  @Max(86400)
  id_token_ttl?: number;

  @ApiPropertyOptional({ description: 'Seconds, 60..31536000', default: 2592000 })
  @IsOmittable()
  @IsInt()
  @Min(60)
  @Max(31536000)
  refresh_token_ttl?: number;

  @ApiPropertyOptional({ description: 'Hours, 1..4320', default: 4320 })
  @IsOmittable()
  @IsInt()
  @Min(1)
  @Max(4320)
  max_exchange_period_hours?: number;

  @ApiPropertyOptional({ default: false })
  @IsOmittable()
  @IsBoolean()
  refresh_token_without_offline_access?: boolean;

  @ApiPropertyOptional({
    description:
      'aud of its access tokens, default the client_id: one audience, or several separated by single spaces (a JWT then carries an array). ' +
      'A resource server registered as a confidential client whose client_id is among them may introspect the tokens.',
    nullable: true,
    example: 'https://api.example.com',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  @Matches(AUDIENCE_LIST, { message: 'access_token_audience must be one audience, or several separated by single spaces (no other whitespace or control characters)' })
  access_token_audience?: string | null;

  @ApiPropertyOptional({ enum: SIGNING_ALGS, default: 'RS256' })
  @IsOmittable()
  @IsIn(SIGNING_ALGS)
  id_token_signed_response_alg?: string;

  @ApiPropertyOptional({ default: false })
  @IsOmittable()
  @IsBoolean()
  disabled?: boolean;
}

/** null clears client_name, jwks, jwks_uri, tls_client_auth_subject_dn, access_token_audience and backchannel_logout_uri; other fields refuse it. */
export class UpdateClientDto extends PartialType(OmitType(CreateClientDto, ['client_id', 'client_secret'] as const), { skipNullProperties: false }) {}

export class ClientResponseDto {
  @ApiProperty() client_id!: string;
  @ApiPropertyOptional({ description: 'Only in the responses to create and rotate-secret' }) client_secret?: string;
  @ApiProperty({ nullable: true }) client_name!: string | null;
  @ApiProperty({ enum: TOKEN_ENDPOINT_AUTH_METHODS }) token_endpoint_auth_method!: string;
  @ApiProperty({ type: [String] }) grant_types!: string[];
  @ApiProperty({ type: [String] }) redirect_uris!: string[];
  @ApiProperty({ type: [String], description: 'Besides the origins of redirect_uris' }) allowed_cors_origins!: string[];
  @ApiProperty({ type: [String] }) post_logout_redirect_uris!: string[];
  @ApiProperty({ nullable: true }) backchannel_logout_uri!: string | null;
  @ApiProperty() backchannel_logout_session_required!: boolean;
  @ApiProperty() logout_revokes_refresh_tokens!: boolean;
  @ApiProperty() scope!: string;
  @ApiProperty() default_scope!: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true }) jwks!: unknown;
  @ApiProperty({ nullable: true }) jwks_uri!: string | null;
  @ApiProperty({ nullable: true }) tls_client_auth_subject_dn!: string | null;
  @ApiProperty() require_pkce!: boolean;
  @ApiProperty() require_mfa!: boolean;
  @ApiProperty() trust_end_user_ip_header!: boolean;
  @ApiProperty() allow_pkce_plain!: boolean;
  @ApiProperty() access_token_format!: string;
  @ApiProperty() access_token_ttl!: number;
  @ApiProperty() id_token_ttl!: number;
  @ApiProperty() refresh_token_ttl!: number;
  @ApiProperty() max_exchange_period_hours!: number;
  @ApiProperty() refresh_token_without_offline_access!: boolean;
  @ApiProperty({ nullable: true }) access_token_audience!: string | null;
  @ApiProperty() id_token_signed_response_alg!: string;
  @ApiProperty() disabled!: boolean;
  @ApiProperty() created_at!: string;
  @ApiProperty() updated_at!: string;
}

export class ClientSecretResponseDto {
  @ApiProperty() client_id!: string;
  @ApiProperty({ description: 'Shown only once' }) client_secret!: string;
}

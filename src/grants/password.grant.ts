import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { PasswordKeysService } from '../keys/password-keys.service';
import { isPasswordEncryptType, type PasswordEncryptType } from '../keys/password-transport';
import type { OAuthParams } from '../oauth/form';
import { InvalidRequest } from '../oauth/errors';
import type { TokenResponse } from '../tokens/tokens.service';
import { LoginIdentifier, PasswordLoginService } from '../users/password-login.service';
import { GrantHandler, TokenRequest } from './grant-handler';
import { parseLifetimeParams } from './lifetime-params';
import { LoginTokenIssuer } from './login-token.issuer';
import { resolveScope, resolveTokenFormat } from './scope';

const IDENTIFIER_KINDS = ['username', 'email', 'phone'] as const;

/**
 * RFC 6749 §4.3, SPEC §3.3: the resource owner's credentials exchanged for tokens. Allowed for
 * confidential and public clients alike, as Keycloak's "direct access grants" are, provided the
 * client has the grant registered.
 *
 * Checks run cheapest first and never touch the account before the request itself is valid:
 * identifier exclusivity, identifier present, password present, password_encrypt_type, scope,
 * lifetime parameters and token_format, then the password's transport decryption. Only then is the
 * password verified, so a malformed request (a ciphertext that does not decrypt included) neither
 * costs an argon2 verification nor counts towards the user's lockout.
 */
@Injectable()
export class PasswordGrant implements GrantHandler {
  readonly grantType = 'password' as const;
  readonly parameters = [
    'username',
    'email',
    'phone',
    'password',
    'password_encrypt_type',
    'scope',
    'token_format',
    'refresh_expiry',
    'max_exchange_period',
  ] as const;

  constructor(
    private readonly logins: PasswordLoginService,
    private readonly issuer: LoginTokenIssuer,
    private readonly clock: Clock,
    private readonly transportKeys: PasswordKeysService,
  ) {}

  async handle({ params, client, ip }: TokenRequest): Promise<TokenResponse> {
    const identifier = loginIdentifier(params);
    if (params.password === undefined) throw new InvalidRequest('A password must be supplied.');
    const encryptType = passwordEncryptType(params);
    const scope = resolveScope(client, params.scope);
    // Validated here so that a bad value is refused before the login, not after it; the issuer reads them again.
    parseLifetimeParams(params);
    resolveTokenFormat(client, params);
    const password = await this.plaintextPassword(encryptType, params.password);

    const { user, amr } = await this.logins.authenticate({ identifier, password, clientId: client.clientId, clientRequiresMfa: client.requireMfa, ip });
    return this.issuer.issue({
      client,
      user,
      grantType: this.grantType,
      scope,
      authTime: this.clock.now(),
      amr,
      params,
      ip,
    });
  }

  /**
   * The password as typed: decrypted from its transport encryption when there is one. A ciphertext
   * that does not decrypt is a malformed request, not a wrong password: it is refused before the
   * account is looked at and does not count towards the lockout.
   */
  private async plaintextPassword(type: PasswordEncryptType, password: string): Promise<string> {
    if (type === 'none') return password;
    const decrypted = await this.transportKeys.decrypt(type, password);
    if (decrypted === null) throw new InvalidRequest('Password could not be decrypted');
    if (decrypted === '') throw new InvalidRequest('A password must be supplied.');
    return decrypted;
  }
}

/** The one identifier of the request: `username`, `email` or `phone`, never two of them (SPEC §3.3). */
export function loginIdentifier(params: OAuthParams): LoginIdentifier {
  const given = IDENTIFIER_KINDS.filter((kind) => params[kind] !== undefined);
  if (given.length > 1) throw new InvalidRequest('username, email and phone are mutually exclusive');
  if (given.length === 0) throw new InvalidRequest('An authorization username must be supplied.');
  return { kind: given[0], value: params[given[0]] };
}

/** SPEC §3.3: `none` (the default), `rsa` or `sm2`; the values are case-sensitive, as the vendor documents them. */
function passwordEncryptType(params: OAuthParams): PasswordEncryptType {
  const type = params.password_encrypt_type ?? 'none';
  if (!isPasswordEncryptType(type)) throw new InvalidRequest('Unsupported password_encrypt_type');
  return type;
}

import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { PasswordKeysService } from '../keys/password-keys.service';
import { isPasswordEncryptType, type PasswordEncryptType } from '../keys/password-transport';
import { InvalidRequest } from '../oauth/errors';
import type { LoginIdentifier } from '../users/identifiers';
import { PasswordLoginService } from '../users/password-login.service';
import type { GrantHandler, TokenRequest } from './grant-handler';
import { requestedScope, requiredString, type GrantParameter } from './grant-parameters';
import { ISSUE_OPTIONS } from './issue-options';
import { LoginTokenIssuer } from './login-token.issuer';
import type { TokenResponse } from './token-response';

const IDENTIFIER_KINDS = ['username', 'email', 'phone'] as const;

/** The one identifier of the request: `username`, `email` or `phone`, never two of them (SPEC §3.3). */
const LOGIN_IDENTIFIER: GrantParameter<LoginIdentifier> = {
  fields: {
    username: { type: 'string', description: 'Matches username, then email, then phone number; exclusive with email and phone' },
    email: { type: 'string', description: 'Matches the email only (case-insensitive)' },
    phone: { type: 'string', description: 'Matches the phone number only (E.164 after normalisation)' },
  },
  parse: (params) => {
    const given = IDENTIFIER_KINDS.filter((kind) => params[kind] !== undefined);
    if (given.length > 1) throw new InvalidRequest('username, email and phone are mutually exclusive');
    if (given.length === 0) throw new InvalidRequest('An authorization username must be supplied.');
    return { kind: given[0], value: params[given[0]] };
  },
};

/** SPEC §3.3: `none` (the default), `rsa` or `sm2`; the values are case-sensitive, as the vendor documents them. */
const PASSWORD_ENCRYPT_TYPE: GrantParameter<PasswordEncryptType> = {
  fields: {
    password_encrypt_type: {
      type: 'string',
      enum: ['none', 'rsa', 'sm2'],
      default: 'none',
      description: 'rsa = base64 RSA-OAEP-256 ciphertext, sm2 = hex SM2 C1C3C2 ciphertext, under the keys of GET /oauth2/password-encryption-keys',
    },
  },
  parse: (params) => {
    const type = params.password_encrypt_type ?? 'none';
    if (!isPasswordEncryptType(type)) throw new InvalidRequest('Unsupported password_encrypt_type');
    return type;
  },
};

/** Checked cheapest first, in this order, before the account is touched. */
const PARAMETERS = {
  identifier: LOGIN_IDENTIFIER,
  password: requiredString(
    'password',
    'The password, encrypted when password_encrypt_type says so; with MFA required and a TOTP enrolled, followed by the 6-digit code',
    'A password must be supplied.',
  ),
  encryptType: PASSWORD_ENCRYPT_TYPE,
  scope: requestedScope(),
  issue: ISSUE_OPTIONS,
};

/**
 * RFC 6749 §4.3, SPEC §3.3: the resource owner's credentials exchanged for tokens. Allowed for
 * confidential and public clients alike, as Keycloak's "direct access grants" are, provided the
 * client has the grant registered.
 *
 * The registry has checked every parameter before this runs; the password's transport decryption
 * comes next, and only then is the password verified, so a malformed request (a ciphertext that
 * does not decrypt included) neither costs an argon2 verification nor counts towards the user's lockout.
 */
@Injectable()
export class PasswordGrant implements GrantHandler<typeof PARAMETERS> {
  static readonly grantType = 'password';
  static readonly parameters = PARAMETERS;
  static readonly example = { username: 'alice', password: 'correct horse battery staple', scope: 'openid profile offline_access' };

  constructor(
    private readonly logins: PasswordLoginService,
    private readonly issuer: LoginTokenIssuer,
    private readonly clock: Clock,
    private readonly transportKeys: PasswordKeysService,
  ) {}

  async handle({ params, client, ip, endUserIp }: TokenRequest<typeof PARAMETERS>): Promise<TokenResponse> {
    const password = await this.plaintextPassword(params.encryptType, params.password);
    const { user, amr } = await this.logins.authenticate({
      identifier: params.identifier,
      password,
      clientId: client.clientId,
      clientRequiresMfa: client.requireMfa,
      ip,
      // A public client runs on the end user's device; a confidential one is a backend logging in
      // all of its users from one address (SPEC §3.3).
      source: client.isPublic ? { kind: 'end-user', ip } : { kind: 'confidential-client', clientId: client.clientId, endUserIp },
    });
    return this.issuer.issue({
      client,
      user,
      grantType: PasswordGrant.grantType,
      scope: params.scope,
      authTime: this.clock.now(),
      amr,
      options: params.issue,
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

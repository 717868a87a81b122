import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { deriveKey, seal, unseal } from '../keys/key-encryption';
import { ServerSecretsService } from '../keys/server-secrets.service';
import { base32Decode, base32Encode, matchTotp, TOTP_DIGITS, TOTP_PERIOD_SECONDS } from './totp';
import type { User } from './user.entity';
import { UsersService } from './users.service';

export const TOTP_ISSUER = 'Gatehouse';
/** 160 bits, as RFC 4226 §4 recommends for HMAC-SHA-1. */
const SECRET_BYTES = 20;

/** How a stored secret is sealed: under a key derived from KEY_ENCRYPTION_SECRET, or under the server's random TOTP secret. */
const SEALED_WITH_KEK = 'kek:';
const SEALED_WITH_SERVER_SECRET = 'srv:';

export interface TotpEnrolment {
  /** base32, unpadded. */
  secret: string;
  otpauthUri: string;
}

/**
 * TOTP second factor (RFC 6238, SPEC §3.3 and §6). The shared secret is stored only encrypted
 * (AES-256-GCM, bound to the user id): with a key derived from KEY_ENCRYPTION_SECRET when it is
 * set, otherwise with a random server secret kept in the `keys` table, so that the users table
 * alone never reveals a secret.
 */
@Injectable()
export class TotpService {
  constructor(
    private readonly users: UsersService,
    private readonly secrets: ServerSecretsService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  /** Enrols the user with a new secret (replacing any previous one) and returns it, once. */
  async enrol(userId: string, actor?: string): Promise<TotpEnrolment> {
    const user = await this.users.get(userId);
    const secret = base32Encode(randomBytes(SECRET_BYTES));
    // A new secret starts with no used step: codes of the old one are meaningless anyway.
    await this.users.setTotpSecret(user.id, await this.seal(user.id, secret));
    await this.audit.record({ type: 'admin.user.totp_enrolled', userId: user.id, clientId: actor });
    return { secret, otpauthUri: otpauthUri(accountName(user), secret) };
  }

  /** Removes the user's TOTP; without it, a user or client requiring MFA gets "MFA enrollment required". */
  async remove(userId: string, actor?: string): Promise<void> {
    const user = await this.users.get(userId);
    await this.users.setTotpSecret(user.id, null);
    await this.audit.record({ type: 'admin.user.totp_removed', userId: user.id, clientId: actor, details: { was_enrolled: !!user.totpSecret } });
  }

  /**
   * True when `code` is the user's TOTP within ±1 step and that step is later than any step used
   * before: RFC 6238 §5.2, a code is accepted once. The step is spent by ONE conditional UPDATE, so
   * of concurrent logins with the same code, on any number of instances, exactly one succeeds.
   */
  async verifyAndSpend(user: User, code: string): Promise<boolean> {
    if (!user.totpSecret) return false;
    const step = matchTotp(base32Decode(await this.open(user.id, user.totpSecret)), code, this.clock.nowMs());
    if (step === null) return false;
    return this.users.spendTotpStep(user.id, user.totpSecret, step);
  }

  private async seal(userId: string, secret: string): Promise<string> {
    const kek = this.config.keyEncryptionSecret;
    if (kek) return SEALED_WITH_KEK + seal(secret, deriveKey(kek, 'totp-secret'), aad(userId));
    return SEALED_WITH_SERVER_SECRET + seal(secret, await this.secrets.get('totp'), aad(userId));
  }

  private async open(userId: string, stored: string): Promise<string> {
    if (stored.startsWith(SEALED_WITH_KEK)) {
      const kek = this.config.keyEncryptionSecret;
      if (!kek) throw new Error(`The TOTP secret of user ${userId} is encrypted but KEY_ENCRYPTION_SECRET is not set`);
      return this.unsealOrExplain(userId, () => unseal(stored.slice(SEALED_WITH_KEK.length), deriveKey(kek, 'totp-secret'), aad(userId)));
    }
    if (stored.startsWith(SEALED_WITH_SERVER_SECRET)) {
      const key = await this.secrets.get('totp');
      return this.unsealOrExplain(userId, () => unseal(stored.slice(SEALED_WITH_SERVER_SECRET.length), key, aad(userId)));
    }
    throw new Error(`The TOTP secret of user ${userId} is not in a recognised format`);
  }

  private unsealOrExplain(userId: string, open: () => string): string {
    try {
      return open();
    } catch {
      // AES-GCM says only "unable to authenticate data": name the likely cause instead.
      throw new Error(`The TOTP secret of user ${userId} cannot be decrypted: wrong KEY_ENCRYPTION_SECRET, or the row was copied from another user`);
    }
  }
}

/** Binds a sealed secret to its user: copied onto another user's row, it does not open. */
function aad(userId: string): string {
  return `totp-secret:${userId}`;
}

/** The name an authenticator app shows next to "Gatehouse": the username, else the email, else the phone number. */
function accountName(user: User): string {
  return user.username ?? user.email ?? user.phoneNumber ?? user.id;
}

/** Key Uri Format (Google Authenticator): otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30 */
export function otpauthUri(account: string, secret: string): string {
  const label = `${TOTP_ISSUER}:${encodeURIComponent(account)}`;
  return `otpauth://totp/${label}?secret=${secret}&issuer=${TOTP_ISSUER}&algorithm=SHA1&digits=${TOTP_DIGITS}&period=${TOTP_PERIOD_SECONDS}`;
}

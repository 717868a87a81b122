import { Injectable, OnModuleInit } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { InvalidGrant } from '../oauth/errors';
import { LockoutService } from '../policy/lockout.service';
import { LoginThrottleService, type LoginSource } from '../policy/login-throttle.service';
import { mfaRequired, totpRequired } from '../policy/login.checks';
import { PolicyService } from '../policy/policy.service';
import type { LoginIdentifier } from './identifiers';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from './passwords';
import { TOTP_DIGITS } from './totp';
import { TotpService } from './totp.service';
import type { User } from './user.entity';
import { UsersService } from './users.service';

export interface PasswordLoginRequest {
  identifier: LoginIdentifier;
  password: string;
  clientId: string;
  /** The client requires a second factor (client.require_mfa). */
  clientRequiresMfa: boolean;
  /**
   * A TOTP code given in a field of its own (the login page's `otp`). Without it, when a code is
   * required, the last 6 digits of `password` are the code (the SAP seed's convention).
   */
  otp?: string;
  /** The address audit events record: the end user's when it is known, else the caller's. */
  ip?: string;
  /** Who is at the keyboard: what failed logins count against (SPEC §3.3 throttling). */
  source: LoginSource;
}

/** A successful login: the user, and how they authenticated (RFC 8176 `amr`). */
export interface PasswordLogin {
  user: User;
  amr: string[];
}

const BAD_CREDENTIALS = 'Bad credentials';

/** Failures that count towards the lockout, as the audit event names them. */
type FailureReason = 'bad_password' | 'bad_otp' | 'missing_otp';

/**
 * The password login shared by the password grant and the hosted login page: the SPEC §3.3
 * outcome table in order. This finds the user and checks the credentials; whether the account may
 * log in, and the lockout counting, are the Policy module's rules.
 */
@Injectable()
export class PasswordLoginService implements OnModuleInit {
  constructor(
    private readonly users: UsersService,
    private readonly policies: PolicyService,
    private readonly lockout: LockoutService,
    private readonly audit: AuditService,
    private readonly totp: TotpService,
    private readonly throttle: LoginThrottleService,
  ) {}

  /** Computes the dummy hash at start-up, so the first unknown-user login costs what every other one does. */
  async onModuleInit(): Promise<void> {
    await dummyPasswordHash();
  }

  async authenticate(request: PasswordLoginRequest): Promise<PasswordLogin> {
    const { clientId, ip, source } = request;
    // Throttling (SPEC §3.3) comes first: a throttled address or client costs no lookup and no hashing.
    await this.throttle.assertAllowed(source);
    // Read for every attempt, before the lookup, so unknown and known users do the same reads.
    const policy = await this.policies.get();
    const user = await this.users.findByLogin(request.identifier);
    // Step 1: unknown user. Verify against a dummy hash so the timing matches a wrong password.
    if (!user) {
      await verifyPassword(await dummyPasswordHash(), request.password);
      await this.throttle.recordFailure(source);
      // The statements a wrong password runs, against a row that does not exist: the database
      // round trips must not tell an unknown user from a known one either.
      // The failure's audit event commits with them, as a known user's does with its count.
      await this.lockout.mirrorFailure(policy, { type: 'login.failure', clientId, ip, details: { reason: 'unknown_user', identifier_kind: request.identifier.kind } });
      throw new InvalidGrant(BAD_CREDENTIALS);
    }
    // Step 2: locked. The password is not checked at all.
    const locked = this.policies.refusal(user, { stage: 'credentials' }, policy);
    if (locked) {
      await this.audit.record({ type: 'login.failure', userId: user.id, clientId, ip, details: { reason: locked.name } });
      throw locked.error();
    }
    // Step 3: wrong password, or wrong or missing TOTP code; counts toward the lockout and reads
    // the same whichever factor was wrong.
    const withTotp = totpRequired(user, request.clientRequiresMfa);
    const { password, code } = withTotp ? splitOtp(request) : { password: request.password, code: undefined };
    const failure = await this.checkCredentials(user, password, withTotp, code);
    if (failure) {
      await this.throttle.recordFailure(source);
      // The count, the lock at the threshold and their audit events (login.failure, user.locked)
      // commit together or not at all; a database failure here is a 503, not an uncounted failure.
      await this.lockout.recordFailure(user.id, policy, { clientId, ip, details: { reason: failure } });
      throw new InvalidGrant(BAD_CREDENTIALS);
    }
    // Steps 4-8: account rules, revealed only after correct credentials. They do not reset the
    // failure counter: the login did not succeed.
    const refusal = this.policies.refusal(user, { stage: 'login', mfaRequired: mfaRequired(user, request.clientRequiresMfa) }, policy);
    if (refusal) {
      await this.audit.record({ type: 'login.failure', userId: user.id, clientId, ip, details: { reason: refusal.name } });
      throw refusal.error();
    }
    await this.recordSuccess(user, password);
    const amr = withTotp ? ['pwd', 'otp'] : ['pwd'];
    await this.audit.record({ type: 'login.success', userId: user.id, clientId, ip, details: { amr: amr.join(' ') } });
    return { user, amr };
  }

  /**
   * The password first, then the code, which is spent only after a correct password: someone who
   * guesses passwords cannot use up the user's codes. Returns why the credentials are refused.
   */
  private async checkCredentials(user: User, password: string, withTotp: boolean, code: string | undefined): Promise<FailureReason | undefined> {
    if (!(await verifyPassword(user.passwordHash, password))) return 'bad_password';
    if (!withTotp) return undefined;
    if (code === undefined) return 'missing_otp';
    return (await this.totp.verifyAndSpend(user, code)) ? undefined : 'bad_otp';
  }

  private async recordSuccess(user: User, password: string): Promise<void> {
    // No write that changes nothing: a counter read as 0 with no lock needs no reset (a failure
    // counted by a concurrent request since this one's read stays counted, as if it came after).
    if (user.failedLoginCount !== 0 || user.lockedAt) await this.lockout.recordSuccess(user.id);
    // Imported (bcrypt) or weaker hashes become argon2id on the first successful login.
    // Only over the hash just verified: a password an admin set meanwhile is never undone.
    if (needsRehash(user.passwordHash)) {
      await this.users.replacePasswordHash(user.id, user.passwordHash, await hashPassword(password));
    }
  }
}

/**
 * The password and the TOTP code of a login that requires one: the `otp` field when given (spaces,
 * as authenticator apps group the digits, are dropped), otherwise the last 6 digits of the
 * password. A password without them has no code; it is still verified, so the answer takes as long.
 */
function splitOtp(request: PasswordLoginRequest): { password: string; code: string | undefined } {
  if (request.otp !== undefined) return { password: request.password, code: request.otp.replace(/\s/g, '') };
  const { password } = request;
  const code = password.slice(-TOTP_DIGITS);
  if (password.length <= TOTP_DIGITS || !/^\d+$/.test(code)) return { password, code: undefined };
  return { password: password.slice(0, -TOTP_DIGITS), code };
}

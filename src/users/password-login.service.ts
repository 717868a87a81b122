import { randomUUID } from 'node:crypto';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { InvalidGrant } from '../oauth/errors';
import { LoginThrottleService } from '../policy/login-throttle.service';
import { isLocked } from '../policy/lockout.check';
import { firstRefusal, mfaRequired, totpRequired } from '../policy/login.checks';
import type { Policy } from '../policy/policy.entity';
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
  ip?: string;
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
 * outcome table in order, with the lockout counter changed only by atomic UPDATEs.
 */
@Injectable()
export class PasswordLoginService implements OnModuleInit {
  constructor(
    private readonly users: UsersService,
    private readonly policies: PolicyService,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly totp: TotpService,
    private readonly throttle: LoginThrottleService,
  ) {}

  /** Computes the dummy hash at start-up, so the first unknown-user login costs what every other one does. */
  async onModuleInit(): Promise<void> {
    await dummyPasswordHash();
  }

  async authenticate(request: PasswordLoginRequest): Promise<PasswordLogin> {
    const { clientId, ip } = request;
    // Per-IP throttling (SPEC §3.3) comes first: a throttled address costs no lookup and no hashing.
    await this.throttle.assertAllowed(ip);
    // Read for every attempt, before the lookup, so unknown and known users do the same reads.
    const policy = await this.policies.get();
    const user = await this.users.findByLogin(request.identifier);
    // Step 1: unknown user. Verify against a dummy hash so the timing matches a wrong password.
    if (!user) {
      await verifyPassword(await dummyPasswordHash(), request.password);
      await this.throttle.recordFailure(ip);
      // The statements a wrong password runs, against a row that does not exist: the database
      // round trips must not tell an unknown user from a known one either.
      await this.mirrorFailure(policy);
      await this.audit.record({ type: 'login.failure', clientId, ip, details: { reason: 'unknown_user', identifier_kind: request.identifier.kind } });
      throw new InvalidGrant(BAD_CREDENTIALS);
    }
    // Step 2: locked. The password is not checked at all.
    if (isLocked(user, policy, this.clock.nowMs())) {
      await this.audit.record({ type: 'login.failure', userId: user.id, clientId, ip, details: { reason: 'locked' } });
      throw new InvalidGrant('User is locked', 'USER_LOCKED');
    }
    // Step 3: wrong password, or wrong or missing TOTP code; counts toward the lockout and reads
    // the same whichever factor was wrong.
    const withTotp = totpRequired(user, request.clientRequiresMfa);
    const { password, code } = withTotp ? splitOtp(request) : { password: request.password, code: undefined };
    const failure = await this.checkCredentials(user, password, withTotp, code);
    if (failure) {
      await this.throttle.recordFailure(ip);
      await this.recordFailure(user, policy, clientId, ip, failure);
      throw new InvalidGrant(BAD_CREDENTIALS);
    }
    // Steps 4-8: account rules, revealed only after correct credentials. They do not reset the
    // failure counter: the login did not succeed.
    const refusal = firstRefusal({ user, policy, nowMs: this.clock.nowMs(), mfaRequired: mfaRequired(user, request.clientRequiresMfa) });
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

  /**
   * Counts a failed login in the database. Every statement is a single conditional UPDATE, so
   * concurrent attempts on any number of instances each add exactly one and cannot skip the
   * threshold, and exactly one of them reports that it locked the user (audit event user.locked).
   */
  private async recordFailure(user: User, policy: Policy, clientId: string, ip: string | undefined, reason: FailureReason): Promise<void> {
    const now = this.clock.nowMs();
    const threshold = policy.lockoutThreshold;
    await this.clearExpiredLock(user.id, policy, now);
    // countBelowThreshold and countAndLock are complements: the first counts a failure that does
    // not lock the user (below the threshold, or a lock already in force), the second one that
    // does. When another request changed the row between them, neither matched and we try again.
    let lockedNow = false;
    let recorded = false;
    for (let attempt = 0; attempt < 5 && !recorded; attempt++) {
      if (await this.users.countFailure(user.id, threshold)) recorded = true;
      else if (await this.users.countFailureAndLock(user.id, threshold, now)) recorded = lockedNow = true;
    }
    if (!recorded) {
      // Only under extreme contention, or when the user was deleted meanwhile: count (and lock) in
      // one statement anyway, without knowing whether this request was the one that locked.
      await this.users.countFailureUnconditionally(user.id, threshold, now);
    }
    await this.audit.record({
      type: 'login.failure',
      userId: user.id,
      clientId,
      ip,
      details: { reason, failed_login_count: await this.users.failedLoginCount(user.id) },
    });
    if (lockedNow) {
      await this.audit.record({ type: 'user.locked', userId: user.id, clientId, ip, details: { reason: 'failed_logins', threshold } });
    }
  }

  /**
   * For an unknown user: the statements a wrong password runs in the common case (no lock reached),
   * against an id that matches no row. They change nothing; they make the database round trips of
   * an unknown user those of a known one.
   */
  private async mirrorFailure(policy: Policy): Promise<void> {
    const nobody = randomUUID();
    await this.clearExpiredLock(nobody, policy, this.clock.nowMs());
    await this.users.countFailure(nobody, policy.lockoutThreshold);
    await this.users.failedLoginCount(nobody);
  }

  /** A lock that has run out is cleared first, so counting starts again from zero. */
  private async clearExpiredLock(id: string, policy: Policy, now: number): Promise<void> {
    if (policy.lockoutDurationSeconds === 0) return;
    await this.users.clearExpiredLock(id, now - policy.lockoutDurationSeconds * 1000);
  }

  private async recordSuccess(user: User, password: string): Promise<void> {
    await this.users.resetFailures(user.id);
    // Imported (bcrypt) or weaker hashes become argon2id on the first successful login.
    if (needsRehash(user.passwordHash)) {
      await this.users.updatePasswordHash(user.id, await hashPassword(password));
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

import { randomUUID } from 'node:crypto';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { InvalidGrant } from '../oauth/errors';
import { LoginThrottleService } from '../policy/login-throttle.service';
import { isLocked } from '../policy/lockout.check';
import { firstRefusal, mfaRequired, totpRequired } from '../policy/login.checks';
import type { Policy } from '../policy/policy.entity';
import { PolicyService } from '../policy/policy.service';
import { normalizeLogin, normalizePhone } from './identifiers';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from './passwords';
import { TOTP_DIGITS } from './totp';
import { TotpService } from './totp.service';
import { User } from './user.entity';

/** `username` matches username, then email, then phone (SPEC §3.3); `email` and `phone` match only their field. */
export type LoginIdentifier = { kind: 'username' | 'email' | 'phone'; value: string };

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

/** A lock reached by failed logins and still counting (the counter only grows while it holds). */
const LOCK_IN_FORCE = '(locked_at IS NOT NULL AND failed_login_count >= :threshold)';

/**
 * The password login shared by the password grant and the hosted login page: the SPEC §3.3
 * outcome table in order, with the lockout counter changed only by atomic UPDATEs.
 */
@Injectable()
export class PasswordLoginService implements OnModuleInit {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
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
    const user = await this.find(request.identifier);
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
   * One query whatever the identifier kind, so the response time does not tell which field matched
   * or whether any did. `username` prefers a username match, then email, then phone. Matches are
   * confirmed by exact comparison of the normalised values, because MySQL collations also equate
   * accented and unaccented letters ("josé" = "jose"), which SQLite does not.
   */
  private async find({ kind, value }: LoginIdentifier): Promise<User | null> {
    if (value.length > 255) return null;
    const login = normalizeLogin(value);
    const phone = normalizePhone(value);
    const byUsername = kind === 'username' ? [{ username: login }] : [];
    const byEmail = kind !== 'phone' ? [{ email: login }] : [];
    const byPhone = kind !== 'email' && phone ? [{ phoneNumber: phone }] : [];
    const where = [...byUsername, ...byEmail, ...byPhone];
    if (where.length === 0) return null;
    const candidates = await this.users.find({ where, take: 3 });
    return (
      (byUsername.length ? candidates.find((u) => u.username === login) : undefined) ??
      (byEmail.length ? candidates.find((u) => u.email === login) : undefined) ??
      (byPhone.length ? candidates.find((u) => u.phoneNumber === phone) : undefined) ??
      null
    );
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
      if (await this.countBelowThreshold(user.id, threshold)) recorded = true;
      else if (await this.countAndLock(user.id, threshold, now)) recorded = lockedNow = true;
    }
    if (!recorded) {
      // Only under extreme contention, or when the user was deleted meanwhile: count (and lock) in
      // one statement anyway, without knowing whether this request was the one that locked.
      // locked_at is assigned first: MySQL evaluates SET left to right with new values, SQLite with old ones.
      await this.users
        .createQueryBuilder()
        .update()
        .set({
          lockedAt: () => `CASE WHEN NOT ${LOCK_IN_FORCE} AND failed_login_count + 1 >= :threshold THEN :now ELSE locked_at END`,
          failedLoginCount: () => 'failed_login_count + 1',
        })
        .where('id = :id', { id: user.id })
        .setParameters({ threshold, now })
        .execute();
    }
    await this.audit.record({
      type: 'login.failure',
      userId: user.id,
      clientId,
      ip,
      details: { reason, failed_login_count: await this.failureCount(user.id) },
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
    await this.countBelowThreshold(nobody, policy.lockoutThreshold);
    await this.failureCount(nobody);
  }

  /** A lock that has run out is cleared first, so counting starts again from zero. */
  private async clearExpiredLock(id: string, policy: Policy, now: number): Promise<void> {
    if (policy.lockoutDurationSeconds === 0) return;
    await this.users
      .createQueryBuilder()
      .update()
      .set({ failedLoginCount: 0, lockedAt: null })
      .where('id = :id AND locked_at IS NOT NULL AND locked_at <= :expiredBefore', { id, expiredBefore: now - policy.lockoutDurationSeconds * 1000 })
      .execute();
  }

  private async countBelowThreshold(id: string, threshold: number): Promise<boolean> {
    const result = await this.users
      .createQueryBuilder()
      .update()
      .set({ failedLoginCount: () => 'failed_login_count + 1' })
      .where(`id = :id AND (failed_login_count + 1 < :threshold OR ${LOCK_IN_FORCE})`, { id, threshold })
      .execute();
    return !!result.affected;
  }

  private async countAndLock(id: string, threshold: number, now: number): Promise<boolean> {
    const result = await this.users
      .createQueryBuilder()
      .update()
      .set({ failedLoginCount: () => 'failed_login_count + 1', lockedAt: new Date(now) })
      .where(`id = :id AND failed_login_count + 1 >= :threshold AND NOT ${LOCK_IN_FORCE}`, { id, threshold })
      .execute();
    return !!result.affected;
  }

  private async failureCount(id: string): Promise<number | null> {
    const row = await this.users.findOne({ where: { id }, select: { id: true, failedLoginCount: true } });
    return row?.failedLoginCount ?? null;
  }

  private async recordSuccess(user: User, password: string): Promise<void> {
    // Conditional on the stored row, not on what was read: a failure counted meanwhile is reset too.
    await this.users
      .createQueryBuilder()
      .update()
      .set({ failedLoginCount: 0, lockedAt: null })
      .where('id = :id AND (failed_login_count > 0 OR locked_at IS NOT NULL)', { id: user.id })
      .execute();
    // Imported (bcrypt) or weaker hashes become argon2id on the first successful login.
    if (needsRehash(user.passwordHash)) {
      await this.users.update({ id: user.id }, { passwordHash: await hashPassword(password) });
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

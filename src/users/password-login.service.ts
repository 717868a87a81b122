import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { InvalidGrant } from '../oauth/errors';
import { isLocked } from '../policy/lockout.check';
import { firstRefusal } from '../policy/login.checks';
import { PolicyService } from '../policy/policy.service';
import { normalizeLogin, normalizePhone } from './identifiers';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from './passwords';
import { User } from './user.entity';

/** `username` matches username, then email, then phone (SPEC §3.3); `email` and `phone` match only their field. */
export type LoginIdentifier = { kind: 'username' | 'email' | 'phone'; value: string };

export interface PasswordLoginRequest {
  identifier: LoginIdentifier;
  password: string;
  clientId: string;
  /** The client requires a second factor (client.require_mfa). */
  clientRequiresMfa: boolean;
  ip?: string;
}

const BAD_CREDENTIALS = 'Bad credentials';

/**
 * The password login shared by the password grant and the hosted login page: the SPEC §3.3
 * outcome table in order, with the lockout counter changed only by atomic UPDATEs.
 */
@Injectable()
export class PasswordLoginService {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly policies: PolicyService,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  async authenticate(request: PasswordLoginRequest): Promise<User> {
    const { clientId, ip } = request;
    const user = await this.find(request.identifier);
    // Step 1: unknown user. Verify against a dummy hash so the timing matches a wrong password.
    if (!user) {
      await verifyPassword(await dummyPasswordHash(), request.password);
      await this.audit.record({ type: 'login.failure', clientId, ip, details: { reason: 'unknown_user', identifier_kind: request.identifier.kind } });
      throw new InvalidGrant(BAD_CREDENTIALS);
    }
    const policy = await this.policies.get();
    const nowMs = this.clock.nowMs();
    // Step 2: locked. The password is not checked at all.
    if (isLocked(user, policy, nowMs)) {
      await this.audit.record({ type: 'login.failure', userId: user.id, clientId, ip, details: { reason: 'locked' } });
      throw new InvalidGrant('User is locked', 'USER_LOCKED');
    }
    // Step 3: wrong password; counts toward the lockout.
    if (!(await verifyPassword(user.passwordHash, request.password))) {
      await this.recordFailure(user, policy.lockoutThreshold, policy.lockoutDurationSeconds, clientId, ip);
      throw new InvalidGrant(BAD_CREDENTIALS);
    }
    // Steps 4-8: account rules, revealed only after a correct password.
    const refusal = firstRefusal({ user, policy, nowMs, mfaRequired: request.clientRequiresMfa || user.requireMfa });
    if (refusal) {
      await this.audit.record({ type: 'login.failure', userId: user.id, clientId, ip, details: { reason: refusal.name } });
      throw refusal.error();
    }
    await this.recordSuccess(user, request.password);
    await this.audit.record({ type: 'login.success', userId: user.id, clientId, ip });
    return user;
  }

  private async find({ kind, value }: LoginIdentifier): Promise<User | null> {
    if (value.length > 255) return null;
    if (kind === 'email') return this.users.findOne({ where: { email: normalizeLogin(value) } });
    const phone = normalizePhone(value);
    if (kind === 'phone') return phone ? this.users.findOne({ where: { phoneNumber: phone } }) : null;
    const login = normalizeLogin(value);
    return (
      (await this.users.findOne({ where: { username: login } })) ??
      (await this.users.findOne({ where: { email: login } })) ??
      (phone ? await this.users.findOne({ where: { phoneNumber: phone } }) : null)
    );
  }

  /**
   * Counts a failed login in the database, atomically, so concurrent attempts on any number of
   * instances cannot skip the threshold. A lock that has run out is cleared first, so counting
   * starts again from zero.
   */
  private async recordFailure(user: User, threshold: number, durationSeconds: number, clientId: string, ip?: string): Promise<void> {
    const now = this.clock.nowMs();
    if (durationSeconds > 0) {
      await this.users
        .createQueryBuilder()
        .update()
        .set({ failedLoginCount: 0, lockedAt: null })
        .where('id = :id AND locked_at IS NOT NULL AND locked_at <= :expiredBefore', { id: user.id, expiredBefore: now - durationSeconds * 1000 })
        .execute();
    }
    // locked_at is assigned before failed_login_count: MySQL evaluates SET left to right with new
    // values, SQLite with old ones, and this order reads the old count on both.
    await this.users
      .createQueryBuilder()
      .update()
      .set({
        lockedAt: () => 'CASE WHEN locked_at IS NULL AND failed_login_count + 1 >= :threshold THEN :now ELSE locked_at END',
        failedLoginCount: () => 'failed_login_count + 1',
      })
      .where('id = :id', { id: user.id })
      .setParameters({ threshold, now })
      .execute();
    const after = await this.users.findOne({ where: { id: user.id }, select: { id: true, failedLoginCount: true, lockedAt: true } });
    await this.audit.record({ type: 'login.failure', userId: user.id, clientId, ip, details: { reason: 'bad_password', failed_login_count: after?.failedLoginCount ?? null } });
    if (after?.lockedAt && after.lockedAt.getTime() === now) {
      await this.audit.record({ type: 'user.locked', userId: user.id, clientId, ip, details: { reason: 'failed_logins', threshold } });
    }
  }

  private async recordSuccess(user: User, password: string): Promise<void> {
    if (user.failedLoginCount > 0 || user.lockedAt) {
      await this.users.update({ id: user.id }, { failedLoginCount: 0, lockedAt: null });
    }
    // Imported (bcrypt) or weaker hashes become argon2id on the first successful login.
    if (needsRehash(user.passwordHash)) {
      await this.users.update({ id: user.id }, { passwordHash: await hashPassword(password) });
    }
  }
}

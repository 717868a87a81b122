import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AuditService, type AuditRecord } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { CONFLICT_ATTEMPTS } from '../database/retry';
import { read, SqlRunner, write, type AtomicFlow, type ReadStep, type WriteStep } from '../database/sql-runner';
import type { Policy } from './policy.entity';

/**
 * The failed-login counter as lockout needs it: single conditional UPDATEs on the user's row, each
 * counting exactly once across instances. The counter lives in the users table, so the Users module
 * (its owner) writes the statements; the rules for using them are here, and LockoutService runs
 * them, with the audit rows of the failure, as one transaction (SqlRunner.atomicFlow).
 */
export interface LockoutCounter {
  /** Clears a failure lock taken before `lockedBefore`. */
  clearExpiredLockStep(userId: string, lockedBefore: number): WriteStep;
  /** Counts a failure that does not lock (below the threshold, or a lock already in force); changes no row when neither holds. */
  countFailureStep(userId: string, threshold: number): WriteStep;
  /** Counts the failure that reaches the threshold and locks; changes no row when it does not. */
  countFailureAndLockStep(userId: string, threshold: number, nowMs: number): WriteStep;
  /** Counts, and locks at the threshold, in one statement. */
  countFailureUnconditionallyStep(userId: string, threshold: number, nowMs: number): WriteStep;
  /** The counter; null when there is no such user. */
  failedLoginCountStep(userId: string): ReadStep<number | null>;
  /** Resets the counter and lifts a failure lock. */
  resetFailures(userId: string): Promise<void>;
}

export const LOCKOUT_COUNTER = Symbol('LOCKOUT_COUNTER');

/**
 * How often a failure's transaction is run again after a write conflict. Twice the default: a
 * conflict is not a race that one request wins and the rest give up, as for a code or a refresh
 * token; every concurrent failure of one user must commit, one after another, on the same row, so
 * on a multi-primary cluster each one can lose to the other nodes' failures several times while
 * the burst lasts (50 concurrent failures over two Galera nodes needed up to 8 runs).
 */
const COUNT_CONFLICT_ATTEMPTS = 2 * CONFLICT_ATTEMPTS;

/** What a counted failure did. */
export interface CountedFailure {
  failedLoginCount: number | null;
  /** This failure reached the threshold and locked the user: exactly one of concurrent failures says so. */
  lockedNow: boolean;
}

/** The audit event of a failed login, as the caller knows it (LockoutService adds the user, the count and the lock). */
export type FailureAudit = Pick<AuditRecord, 'clientId' | 'ip' | 'details'>;

/**
 * Lockout (SPEC §3.3): `lockout_threshold` consecutive failures lock the user for
 * `lockout_duration_seconds` (0 = until an admin unlocks); a success resets the counter. Whether a
 * user is locked is Policy's `isLocked`; this keeps the count, atomically, through the counter of
 * the users table (see LOCKOUT_COUNTER: the Users module provides both).
 *
 * A counted failure and its audit events (`login.failure`, and `user.locked` from the failure that
 * locks) are one transaction: all commit or none, so the counter and the audit trail never tell
 * different stories. A database failure on the way fails the login attempt (503 from the
 * exception filter) instead of leaving an uncounted or unaudited failure behind (docs/decisions.md).
 */
@Injectable()
export class LockoutService {
  constructor(
    @Inject(LOCKOUT_COUNTER) private readonly counter: LockoutCounter,
    private readonly audit: AuditService,
    private readonly sql: SqlRunner,
    private readonly clock: Clock,
  ) {}

  /**
   * Counts a failed login and records its audit events in the same transaction. Concurrent
   * attempts on any number of instances each add exactly one and cannot skip the threshold, and
   * exactly one of them learns that it locked the user (and writes `user.locked`).
   */
  async recordFailure(userId: string, policy: Policy, event: FailureAudit): Promise<CountedFailure> {
    const now = this.clock.nowMs();
    await this.clearExpiredLock(userId, policy, now);
    return this.sql.atomicFlow(() => this.failureFlow(userId, policy, now, event), { conflictAttempts: COUNT_CONFLICT_ATTEMPTS });
  }

  /**
   * For an unknown user: the statements a wrong password runs in the common case (no lock reached),
   * against an id that matches no row, in one transaction with the failure's audit event. The
   * UPDATEs change nothing; they make the database round trips of an unknown user those of a known one.
   */
  async mirrorFailure(policy: Policy, event: AuditRecord): Promise<void> {
    const nobody = randomUUID();
    await this.clearExpiredLock(nobody, policy, this.clock.nowMs());
    return this.sql.atomicFlow(() => this.mirrorFlow(nobody, policy, event), { conflictAttempts: COUNT_CONFLICT_ATTEMPTS });
  }

  /** A successful login resets the counter (whatever was counted meanwhile). */
  recordSuccess(userId: string): Promise<void> {
    return this.counter.resetFailures(userId);
  }

  private *failureFlow(userId: string, policy: Policy, now: number, event: FailureAudit): AtomicFlow<CountedFailure> {
    const threshold = policy.lockoutThreshold;
    // countFailure and countFailureAndLock are complements: the first counts a failure that does
    // not lock the user (below the threshold, or a lock already in force), the second one that
    // does. Inside the transaction the first one's row lock keeps the row as it read it, so one of
    // them matches; the loop is for an isolation level that releases the lock of a row not matched.
    let lockedNow = false;
    let recorded = false;
    for (let attempt = 0; attempt < 5 && !recorded; attempt++) {
      if ((yield* write(this.counter.countFailureStep(userId, threshold))) > 0) recorded = true;
      else if ((yield* write(this.counter.countFailureAndLockStep(userId, threshold, now))) > 0) recorded = lockedNow = true;
    }
    if (!recorded) {
      // Only when the user was deleted meanwhile (or under contention the loop could not win):
      // count (and lock) in one statement anyway, without knowing whether this request locked.
      yield* write(this.counter.countFailureUnconditionallyStep(userId, threshold, now));
    }
    const failedLoginCount = yield* read(this.counter.failedLoginCountStep(userId));
    const { clientId, ip } = event;
    yield* write(this.audit.recordStep({ type: 'login.failure', userId, clientId, ip, details: { ...event.details, failed_login_count: failedLoginCount } }));
    if (lockedNow) {
      yield* write(this.audit.recordStep({ type: 'user.locked', userId, clientId, ip, details: { reason: 'failed_logins', threshold } }));
    }
    return { failedLoginCount, lockedNow };
  }

  /** failureFlow's common case (no lock reached) for a row that does not exist: the same statements, in the same order. */
  private *mirrorFlow(nobody: string, policy: Policy, event: AuditRecord): AtomicFlow<void> {
    yield* write(this.counter.countFailureStep(nobody, policy.lockoutThreshold));
    yield* read(this.counter.failedLoginCountStep(nobody));
    yield* write(this.audit.recordStep(event));
  }

  /**
   * A lock that has run out is cleared first, so counting starts again from zero. Its own
   * statement, before the transaction: it stands on its own (an expired lock no longer locks), and
   * inside it would hold the user's row for one more round trip, which on a multi-primary cluster
   * widens the window in which concurrent failures on other nodes make the transaction lose.
   */
  private async clearExpiredLock(userId: string, policy: Policy, now: number): Promise<void> {
    if (policy.lockoutDurationSeconds === 0) return;
    const step = this.counter.clearExpiredLockStep(userId, now - policy.lockoutDurationSeconds * 1000);
    await this.sql.run(step.sql, step.params);
  }
}

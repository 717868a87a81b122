import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import type { Policy } from './policy.entity';

/**
 * The failed-login counter as lockout needs it: single conditional UPDATEs on the user's row, each
 * counting exactly once across instances. The counter lives in the users table, so the Users module
 * (its owner) implements this; the rules for using it are here.
 */
export interface LockoutCounter {
  /** Clears a failure lock taken before `lockedBefore`. */
  clearExpiredLock(userId: string, lockedBefore: number): Promise<void>;
  /** Counts a failure that does not lock (below the threshold, or a lock already in force); false when neither holds. */
  countFailure(userId: string, threshold: number): Promise<boolean>;
  /** Counts the failure that reaches the threshold and locks; false when it does not. */
  countFailureAndLock(userId: string, threshold: number, nowMs: number): Promise<boolean>;
  /** Counts, and locks at the threshold, in one statement. */
  countFailureUnconditionally(userId: string, threshold: number, nowMs: number): Promise<void>;
  failedLoginCount(userId: string): Promise<number | null>;
  /** Resets the counter and lifts a failure lock. */
  resetFailures(userId: string): Promise<void>;
}

export const LOCKOUT_COUNTER = Symbol('LOCKOUT_COUNTER');

/** What a counted failure did. */
export interface CountedFailure {
  failedLoginCount: number | null;
  /** This failure reached the threshold and locked the user: exactly one of concurrent failures says so. */
  lockedNow: boolean;
}

/**
 * Lockout (SPEC §3.3): `lockout_threshold` consecutive failures lock the user for
 * `lockout_duration_seconds` (0 = until an admin unlocks); a success resets the counter. Whether a
 * user is locked is Policy's `isLocked`; this keeps the count, atomically, through the counter of
 * the users table (see LOCKOUT_COUNTER: the Users module provides both).
 */
@Injectable()
export class LockoutService {
  constructor(
    @Inject(LOCKOUT_COUNTER) private readonly counter: LockoutCounter,
    private readonly clock: Clock,
  ) {}

  /**
   * Counts a failed login. Concurrent attempts on any number of instances each add exactly one and
   * cannot skip the threshold, and exactly one of them learns that it locked the user.
   */
  async recordFailure(userId: string, policy: Policy): Promise<CountedFailure> {
    const now = this.clock.nowMs();
    const threshold = policy.lockoutThreshold;
    await this.clearExpiredLock(userId, policy, now);
    // countFailure and countFailureAndLock are complements: the first counts a failure that does
    // not lock the user (below the threshold, or a lock already in force), the second one that
    // does. When another request changed the row between them, neither matched and we try again.
    let lockedNow = false;
    let recorded = false;
    for (let attempt = 0; attempt < 5 && !recorded; attempt++) {
      if (await this.counter.countFailure(userId, threshold)) recorded = true;
      else if (await this.counter.countFailureAndLock(userId, threshold, now)) recorded = lockedNow = true;
    }
    if (!recorded) {
      // Only under extreme contention, or when the user was deleted meanwhile: count (and lock) in
      // one statement anyway, without knowing whether this request was the one that locked.
      await this.counter.countFailureUnconditionally(userId, threshold, now);
    }
    return { failedLoginCount: await this.counter.failedLoginCount(userId), lockedNow };
  }

  /**
   * For an unknown user: the statements a wrong password runs in the common case (no lock reached),
   * against an id that matches no row. They change nothing; they make the database round trips of
   * an unknown user those of a known one.
   */
  async mirrorFailure(policy: Policy): Promise<void> {
    const nobody = randomUUID();
    await this.clearExpiredLock(nobody, policy, this.clock.nowMs());
    await this.counter.countFailure(nobody, policy.lockoutThreshold);
    await this.counter.failedLoginCount(nobody);
  }

  /** A successful login resets the counter (whatever was counted meanwhile). */
  recordSuccess(userId: string): Promise<void> {
    return this.counter.resetFailures(userId);
  }

  /** A lock that has run out is cleared first, so counting starts again from zero. */
  private async clearExpiredLock(userId: string, policy: Policy, now: number): Promise<void> {
    if (policy.lockoutDurationSeconds === 0) return;
    await this.counter.clearExpiredLock(userId, now - policy.lockoutDurationSeconds * 1000);
  }
}

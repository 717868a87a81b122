import type { Policy } from './policy.entity';

/** What the lockout rule reads of a user. */
export interface LockoutState {
  adminLocked: boolean;
  failedLoginCount: number;
  lockedAt: Date | null;
}

/** Whether the user may not log in because of an admin lock or failed logins within the lock duration. */
export function isLocked(user: LockoutState, policy: Policy, nowMs: number): boolean {
  if (user.adminLocked) return true;
  if (!user.lockedAt || user.failedLoginCount < policy.lockoutThreshold) return false;
  return policy.lockoutDurationSeconds === 0 || user.lockedAt.getTime() + policy.lockoutDurationSeconds * 1000 > nowMs;
}

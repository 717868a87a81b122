import type { Policy } from './policy.entity';
import type { User } from '../users/user.entity';

/** Whether the user may not log in because of an admin lock or failed logins within the lock duration. */
export function isLocked(user: User, policy: Policy, nowMs: number): boolean {
  if (user.adminLocked) return true;
  if (!user.lockedAt || user.failedLoginCount < policy.lockoutThreshold) return false;
  return policy.lockoutDurationSeconds === 0 || user.lockedAt.getTime() + policy.lockoutDurationSeconds * 1000 > nowMs;
}

import { InvalidGrant } from '../oauth/errors';
import type { User } from '../users/user.entity';
import { isLocked } from './lockout.check';
import type { Policy } from './policy.entity';

/**
 * SPEC §3.5: locked and disabled users cannot refresh. The texts and error codes are the password
 * grant's (§3.3), in the same order (the lock before the disabled flag).
 */
export function refreshRefusal(user: User, policy: Policy, nowMs: number): InvalidGrant | null {
  if (isLocked(user, policy, nowMs)) return new InvalidGrant('User is locked', 'USER_LOCKED');
  if (user.disabled) return new InvalidGrant('User is disabled', 'USER_DISABLED');
  return null;
}

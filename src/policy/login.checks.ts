import { InvalidGrant } from '../oauth/errors';
import type { User } from '../users/user.entity';
import type { Policy } from './policy.entity';

export interface LoginContext {
  user: User;
  policy: Policy;
  nowMs: number;
  /** The client or the user requires a second factor. */
  mfaRequired: boolean;
}

/** One account rule checked after a correct password: a name, when it refuses, and the error it gives. */
export interface LoginCheck {
  name: string;
  refuses(context: LoginContext): boolean;
  error(): InvalidGrant;
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** SPEC §3.3: a second factor is required when the client or the user requires it. */
export function mfaRequired(user: User, clientRequiresMfa: boolean): boolean {
  return clientRequiresMfa || user.requireMfa;
}

/**
 * The TOTP code is part of the credentials (step 3) when MFA is required and the user has a TOTP;
 * without one, step 8 refuses the login.
 */
export function totpRequired(user: User, clientRequiresMfa: boolean): boolean {
  return mfaRequired(user, clientRequiresMfa) && !!user.totpSecret;
}

/** SPEC §3.3 wording: "past password_expires_at", "older than", "age >": the boundary instant still logs in. */
function expiresAtPassed(user: User, nowMs: number): boolean {
  return !!user.passwordExpiresAt && nowMs > user.passwordExpiresAt.getTime();
}

/** SPEC §3.3 outcome table, steps 4-8, in order. Steps 1-3 (unknown user, lock, password) come first. */
export const LOGIN_CHECKS: readonly LoginCheck[] = [
  {
    name: 'disabled',
    refuses: ({ user }) => user.disabled,
    error: () => new InvalidGrant('User is disabled', 'USER_DISABLED'),
  },
  {
    name: 'initial-password-expired',
    refuses: ({ user, policy, nowMs }) =>
      user.passwordIsInitial && (expiresAtPassed(user, nowMs) || nowMs - user.passwordChangedAt.getTime() > policy.initialPasswordTtlHours * HOUR),
    error: () => new InvalidGrant('Initial password has expired', 'INITIAL_PASSWORD_EXPIRED'),
  },
  {
    name: 'password-expired',
    refuses: ({ user, policy, nowMs }) =>
      expiresAtPassed(user, nowMs) || (policy.passwordMaxAgeDays > 0 && nowMs - user.passwordChangedAt.getTime() > policy.passwordMaxAgeDays * DAY),
    error: () => new InvalidGrant('Password has expired', 'PASSWORD_EXPIRED'),
  },
  {
    name: 'password-change-required',
    refuses: ({ user }) => user.passwordChangeRequired,
    error: () => new InvalidGrant('Password change required', 'PASSWORD_CHANGE_REQUIRED'),
  },
  // Users with a TOTP gave their code with the password (step 3); this is for those without one.
  {
    name: 'mfa-enrollment-required',
    refuses: ({ user, mfaRequired }) => mfaRequired && !user.totpSecret,
    error: () => new InvalidGrant('MFA enrollment required', 'MFA_ENROLLMENT_REQUIRED'),
  },
];

/** The first rule that refuses the login, or undefined when the user may log in. */
export function firstRefusal(context: LoginContext): LoginCheck | undefined {
  return LOGIN_CHECKS.find((check) => check.refuses(context));
}

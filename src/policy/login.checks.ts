import { InvalidGrant } from '../oauth/errors';
import { isLocked, type LockoutState } from './lockout.check';
import type { Policy } from './policy.entity';

/** What the account rules read of a user. */
export interface Account extends LockoutState {
  disabled: boolean;
  passwordIsInitial: boolean;
  passwordExpiresAt: Date | null;
  passwordChangedAt: Date;
  passwordChangeRequired: boolean;
  requireMfa: boolean;
  totpSecret: string | null;
}

/**
 * When an account is checked:
 * - `credentials`: a password login, before the password is looked at (SPEC §3.3 step 2);
 * - `login`: a password login, after correct credentials (steps 4-8);
 * - `session`: the tokens of an earlier login in use: a code redeemed, a refresh (§3.5), UserInfo.
 */
export type AccountStage = 'credentials' | 'login' | 'session';

export interface AccountContext {
  stage: AccountStage;
  /** The client or the user requires a second factor (login stage). */
  mfaRequired?: boolean;
}

export interface LoginContext {
  user: Account;
  policy: Policy;
  nowMs: number;
  /** The client or the user requires a second factor. */
  mfaRequired: boolean;
}

/** One account rule: a name (as audit events give it), the stages it applies to, when it refuses, and the error it gives. */
export interface LoginCheck {
  name: string;
  stages: readonly AccountStage[];
  refuses(context: LoginContext): boolean;
  error(): InvalidGrant;
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** SPEC §3.3: a second factor is required when the client or the user requires it. */
export function mfaRequired(user: Account, clientRequiresMfa: boolean): boolean {
  return clientRequiresMfa || user.requireMfa;
}

/**
 * The TOTP code is part of the credentials (step 3) when MFA is required and the user has a TOTP;
 * without one, step 8 refuses the login.
 */
export function totpRequired(user: Account, clientRequiresMfa: boolean): boolean {
  return mfaRequired(user, clientRequiresMfa) && !!user.totpSecret;
}

/** SPEC §3.3 wording: "past password_expires_at", "older than", "age >": the boundary instant still logs in. */
function expiresAtPassed(user: Account, nowMs: number): boolean {
  return !!user.passwordExpiresAt && nowMs > user.passwordExpiresAt.getTime();
}

/** SPEC §3.3 step 2: the password is not checked at all for a locked user; a locked user's tokens stop working too. */
export const LOCKED_CHECK: LoginCheck = {
  name: 'locked',
  stages: ['credentials', 'session'],
  refuses: ({ user, policy, nowMs }) => isLocked(user, policy, nowMs),
  error: () => new InvalidGrant('User is locked', 'USER_LOCKED'),
};

/** SPEC §3.3 outcome table, steps 4-8, in order. Steps 1-3 (unknown user, lock, password) come first. */
export const LOGIN_CHECKS: readonly LoginCheck[] = [
  {
    name: 'disabled',
    stages: ['login', 'session'],
    refuses: ({ user }) => user.disabled,
    error: () => new InvalidGrant('User is disabled', 'USER_DISABLED'),
  },
  {
    name: 'initial-password-expired',
    stages: ['login'],
    refuses: ({ user, policy, nowMs }) =>
      user.passwordIsInitial && (expiresAtPassed(user, nowMs) || nowMs - user.passwordChangedAt.getTime() > policy.initialPasswordTtlHours * HOUR),
    error: () => new InvalidGrant('Initial password has expired', 'INITIAL_PASSWORD_EXPIRED'),
  },
  {
    name: 'password-expired',
    stages: ['login'],
    refuses: ({ user, policy, nowMs }) =>
      expiresAtPassed(user, nowMs) || (policy.passwordMaxAgeDays > 0 && nowMs - user.passwordChangedAt.getTime() > policy.passwordMaxAgeDays * DAY),
    error: () => new InvalidGrant('Password has expired', 'PASSWORD_EXPIRED'),
  },
  {
    name: 'password-change-required',
    stages: ['login'],
    refuses: ({ user }) => user.passwordChangeRequired,
    error: () => new InvalidGrant('Password change required', 'PASSWORD_CHANGE_REQUIRED'),
  },
  // Users with a TOTP gave their code with the password (step 3); this is for those without one.
  {
    name: 'mfa-enrollment-required',
    stages: ['login'],
    refuses: ({ user, mfaRequired }) => mfaRequired && !user.totpSecret,
    error: () => new InvalidGrant('MFA enrollment required', 'MFA_ENROLLMENT_REQUIRED'),
  },
];

/**
 * Every account rule in the order of the SPEC §3.3 table. Each stage applies the rules meant for it
 * in this one order, so a user who is both locked and disabled reads "User is locked" at every
 * grant, at the login page and at UserInfo.
 */
export const ACCOUNT_CHECKS: readonly LoginCheck[] = [LOCKED_CHECK, ...LOGIN_CHECKS];

/** The first rule of `stage` that refuses, or undefined when the account may go on. */
export function firstRefusal(context: LoginContext, stage: AccountStage = 'login'): LoginCheck | undefined {
  return ACCOUNT_CHECKS.find((check) => check.stages.includes(stage) && check.refuses(context));
}

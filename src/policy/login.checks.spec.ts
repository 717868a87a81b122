import { ACCOUNT_CHECKS, firstRefusal, LOGIN_CHECKS, mfaRequired, totpRequired, type Account, type AccountStage } from './login.checks';
import type { Policy } from './policy.entity';
import { isLocked } from './lockout.check';

const NOW = Date.UTC(2030, 0, 1);
const HOUR = 3600_000;

function user(fields: Partial<Account> = {}): Account {
  return {
    disabled: false,
    passwordIsInitial: false,
    passwordExpiresAt: null,
    passwordChangeRequired: false,
    passwordChangedAt: new Date(NOW - HOUR),
    totpSecret: null,
    adminLocked: false,
    failedLoginCount: 0,
    lockedAt: null,
    requireMfa: false,
    ...fields,
  };
}

const policy = (fields: Partial<Policy> = {}) =>
  ({ lockoutThreshold: 5, lockoutDurationSeconds: 900, passwordMaxAgeDays: 0, initialPasswordTtlHours: 72, ...fields }) as Policy;

const refusal = (u: Account, p = policy(), mfaRequired = false, stage: AccountStage = 'login') => firstRefusal({ user: u, policy: p, nowMs: NOW, mfaRequired }, stage)?.name;

describe('LOGIN_CHECKS', () => {
  it('are SPEC §3.3 steps 4-8 in order', () => {
    expect(LOGIN_CHECKS.map((c) => c.name)).toEqual(['disabled', 'initial-password-expired', 'password-expired', 'password-change-required', 'mfa-enrollment-required']);
  });

  it('let an ordinary user in', () => {
    expect(refusal(user())).toBeUndefined();
  });

  it('treat the expiry instant itself as still valid ("past", "older than")', () => {
    expect(refusal(user({ passwordExpiresAt: new Date(NOW) }))).toBeUndefined();
    expect(refusal(user({ passwordExpiresAt: new Date(NOW - 1) }))).toBe('password-expired');
    expect(refusal(user({ passwordIsInitial: true, passwordChangedAt: new Date(NOW - 72 * HOUR) }))).toBeUndefined();
    expect(refusal(user({ passwordIsInitial: true, passwordChangedAt: new Date(NOW - 72 * HOUR - 1) }))).toBe('initial-password-expired');
    const maxAge = policy({ passwordMaxAgeDays: 1 });
    expect(refusal(user({ passwordChangedAt: new Date(NOW - 24 * HOUR) }), maxAge)).toBeUndefined();
    expect(refusal(user({ passwordChangedAt: new Date(NOW - 24 * HOUR - 1) }), maxAge)).toBe('password-expired');
  });

  it('report an initial password past password_expires_at as an expired initial password', () => {
    expect(refusal(user({ passwordIsInitial: true, passwordExpiresAt: new Date(NOW - 1) }))).toBe('initial-password-expired');
  });

  it('require TOTP enrolment only when MFA is required', () => {
    expect(refusal(user(), policy(), true)).toBe('mfa-enrollment-required');
    expect(refusal(user({ totpSecret: 'enc' }), policy(), true)).toBeUndefined();
  });
});

describe('ACCOUNT_CHECKS', () => {
  it('are SPEC §3.3 step 2 (locked) and steps 4-8, in that one order', () => {
    expect(ACCOUNT_CHECKS.map((c) => c.name)).toEqual(['locked', ...LOGIN_CHECKS.map((c) => c.name)]);
  });

  it('check the lock before the password, the rest after it, and lock then disabled for the tokens of a login', () => {
    const stages = (stage: AccountStage) => ACCOUNT_CHECKS.filter((c) => c.stages.includes(stage)).map((c) => c.name);
    expect(stages('credentials')).toEqual(['locked']);
    expect(stages('login')).toEqual(LOGIN_CHECKS.map((c) => c.name));
    expect(stages('session')).toEqual(['locked', 'disabled']);
  });

  it('give a user who is both locked and disabled one answer wherever a lock is checked', () => {
    const both = user({ adminLocked: true, disabled: true });
    expect(refusal(both, policy(), false, 'credentials')).toBe('locked');
    expect(refusal(both, policy(), false, 'session')).toBe('locked');
    expect(refusal(user({ disabled: true }), policy(), false, 'session')).toBe('disabled');
    expect(refusal(user({ passwordChangeRequired: true }), policy(), false, 'session')).toBeUndefined();
  });
});

describe(totpRequired.name, () => {
  it('asks for the code when the client or the user requires MFA and the user has a TOTP', () => {
    const cases: [Partial<Account>, boolean, boolean, boolean][] = [
      [{}, false, false, false],
      [{}, true, true, false],
      [{ requireMfa: true }, false, true, false],
      [{ totpSecret: 'enc' }, false, false, false],
      [{ totpSecret: 'enc' }, true, true, true],
      [{ totpSecret: 'enc', requireMfa: true }, false, true, true],
    ];
    for (const [fields, clientRequiresMfa, mfa, totp] of cases) {
      const u = user({ requireMfa: false, ...fields });
      expect([fields, clientRequiresMfa, mfaRequired(u, clientRequiresMfa), totpRequired(u, clientRequiresMfa)]).toEqual([fields, clientRequiresMfa, mfa, totp]);
    }
  });
});

describe(isLocked.name, () => {
  it('holds an admin lock whatever the counter', () => {
    expect(isLocked(user({ adminLocked: true }), policy(), NOW)).toBe(true);
  });

  it('holds a failure lock for lockout_duration_seconds, or for ever when it is 0', () => {
    const locked = user({ failedLoginCount: 5, lockedAt: new Date(NOW - 899_999) });
    expect(isLocked(locked, policy(), NOW)).toBe(true);
    expect(isLocked(user({ failedLoginCount: 5, lockedAt: new Date(NOW - 900_000) }), policy(), NOW)).toBe(false);
    expect(isLocked(user({ failedLoginCount: 5, lockedAt: new Date(0) }), policy({ lockoutDurationSeconds: 0 }), NOW)).toBe(true);
  });

  it('follows the current threshold: raising it above the count lifts the lock', () => {
    const locked = user({ failedLoginCount: 5, lockedAt: new Date(NOW - 1000) });
    expect(isLocked(locked, policy({ lockoutThreshold: 6 }), NOW)).toBe(false);
  });
});

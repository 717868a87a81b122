import { PROFILE_CLAIM_NAMES, type User } from './user.entity';

/** Claims every id_token carries. `nonce` joins them with the authorization-code flow, the only one that takes it. */
export const ID_TOKEN_CLAIMS = ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'at_hash', 'sid', 'amr'] as const;

/** Claims each scope releases (OIDC Core §5.4, plus `groups`). */
export const CLAIMS_BY_SCOPE: Record<string, readonly string[]> = {
  profile: [...PROFILE_CLAIM_NAMES, 'preferred_username', 'updated_at'],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  address: ['address'],
  groups: ['groups'],
};

function present(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return false;
  if (typeof value === 'object' && !Array.isArray(value)) return Object.values(value).some(present);
  return true;
}

/**
 * The user's claims for the granted scopes, for the id_token and UserInfo. A claim with no value
 * is left out, never sent as null or "" (SPEC §3.8).
 */
export function userClaims(user: User, scopes: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  const put = (name: string, value: unknown) => {
    if (present(value)) claims[name] = value;
  };
  if (scopes.includes('profile')) {
    for (const name of PROFILE_CLAIM_NAMES) put(name, user.claims[name]);
    put('preferred_username', user.username);
    put('updated_at', Math.floor(user.updatedAt.getTime() / 1000));
  }
  if (scopes.includes('email') && user.email) {
    put('email', user.email);
    put('email_verified', user.emailVerified);
  }
  if (scopes.includes('phone') && user.phoneNumber) {
    put('phone_number', user.phoneNumber);
    put('phone_number_verified', user.phoneNumberVerified);
  }
  if (scopes.includes('address') && user.claims.address) {
    const address = Object.fromEntries(Object.entries(user.claims.address).filter(([, v]) => present(v)));
    put('address', address);
  }
  if (scopes.includes('groups') && user.groups.length) put('groups', [...user.groups]);
  return claims;
}

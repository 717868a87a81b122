/** `username` matches username, then email, then phone (SPEC §3.3); `email` and `phone` match only their field. */
export type LoginIdentifier = { kind: 'username' | 'email' | 'phone'; value: string };

/** Lower-cased and trimmed: usernames and emails are case-insensitive, as in Keycloak. */
export function normalizeLogin(value: string): string {
  return value.trim().toLowerCase();
}

/** E.164 after removing spaces, dots, hyphens and parentheses; null when it is not a phone number. */
export function normalizePhone(value: string): string | null {
  const compact = value.trim().replace(/[\s.\-()]/g, '');
  const international = compact.startsWith('00') ? `+${compact.slice(2)}` : compact;
  return /^\+[1-9]\d{6,14}$/.test(international) ? international : null;
}

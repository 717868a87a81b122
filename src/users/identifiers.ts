/** `username` matches username, then email, then phone (SPEC §3.3); `email` and `phone` match only their field. */
export type LoginIdentifier = { kind: 'username' | 'email' | 'phone'; value: string };

/**
 * Trimmed, in Unicode NFC and lower-cased: usernames and emails are case-insensitive, as directories
 * and Keycloak treat them, and an "é" typed precomposed or as "e" plus an accent is the same name.
 * Stored this way and looked up this way, so one binary unique index serves uniqueness and lookups
 * alike on SQLite and MySQL.
 */
export function normalizeLogin(value: string): string {
  return value.trim().normalize('NFC').toLowerCase();
}

export const USERNAME_MAX_LENGTH = 255;

/**
 * SPEC §6: 1-255 printable characters without leading or trailing whitespace, `@`, `\` and `.`
 * included (directory login names: `alice@corp.example`, `CORP\alice`). Not printable: control,
 * format (zero-width and bidirectional marks, which make two names look alike), private-use,
 * unassigned and surrogate code points, and line or paragraph separators. Spaces inside are
 * allowed ("Ada Lovelace"). Length counts characters (code points), as MySQL's varchar does, of
 * the name as stored (lower-casing can lengthen a few letters, such as "İ").
 */
export function isDirectoryUsername(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0) return false;
  if (/^\s|\s$/u.test(value) || /[\p{C}\p{Zl}\p{Zp}]/u.test(value)) return false;
  const length = [...normalizeLogin(value)].length;
  return length >= 1 && length <= USERNAME_MAX_LENGTH;
}

/** E.164 after removing spaces, dots, hyphens and parentheses; null when it is not a phone number. */
export function normalizePhone(value: string): string | null {
  const compact = value.trim().replace(/[\s.\-()]/g, '');
  const international = compact.startsWith('00') ? `+${compact.slice(2)}` : compact;
  return /^\+[1-9]\d{6,14}$/.test(international) ? international : null;
}

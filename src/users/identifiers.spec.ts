import { isDirectoryUsername, normalizeLogin } from './identifiers';

describe(isDirectoryUsername.name, () => {
  it('accepts directory login names: @, backslash, dots, inner spaces, any script, up to 255 characters', () => {
    for (const name of ['alice@corp.example', 'CORP\\alice', 'a.b.c', 'Ada Lovelace', 'josé', 'Ørjan', '山田太郎', 'Δημήτρης', 'x', 'a'.repeat(255), '😀'.repeat(255), 'user+tag@example.com']) {
      expect({ name, ok: isDirectoryUsername(name) }).toEqual({ name, ok: true });
    }
  });

  it('refuses empty names, leading or trailing whitespace, non-printable characters and more than 255 characters', () => {
    for (const name of ['', ' alice', 'alice ', '\talice', 'alice\n', '\u00a0alice', 'al\u0000ice', 'al\u200bice', 'al\u202eice', 'al\u2028ice', 'al\ue000ice', '\ud800', 'a'.repeat(256), 'İ'.repeat(200)]) {
      expect({ name, ok: isDirectoryUsername(name) }).toEqual({ name, ok: false });
    }
    expect(isDirectoryUsername(42)).toBe(false);
  });
});

describe(normalizeLogin.name, () => {
  it('trims, composes (NFC) and lower-cases, so case and Unicode spelling do not make another name', () => {
    expect(normalizeLogin('  CORP\\Alice ')).toBe('corp\\alice');
    expect(normalizeLogin('Jose\u0301')).toBe('jos\u00e9');
    expect(normalizeLogin('JOS\u00c9')).toBe('jos\u00e9');
    expect(normalizeLogin('Alice@Corp.Example')).toBe('alice@corp.example');
  });
});

import { requestIdFrom } from './request-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe(requestIdFrom.name, () => {
  it.each([
    ['a UUID', '6f1c1f5e-2b7a-4c1e-9a51-3d0f2c7b8e11'],
    ['a hex trace id', '4bf92f3577b34da6a3ce929d0e0e4736'],
    ['a base64 id', 'dGhpcyBpcyBhbiBpZA=='],
    ['an id with dots, colons and slashes', 'lb-1:req/42.7'],
    ['one character', 'x'],
    ['128 characters', 'a'.repeat(128)],
  ])('keeps a sane incoming id: %s', (_name, id) => {
    expect(requestIdFrom(id)).toBe(id);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['129 characters', 'a'.repeat(129)],
    ['a space', 'two words'],
    ['a newline (log or header injection)', 'id\nlevel=error'],
    ['a quote', 'id"x'],
    ['non-ASCII', 'idé'],
    ['a repeated header', ['a', 'b']],
  ])('generates a UUID instead of %s', (_name, header) => {
    expect(requestIdFrom(header)).toMatch(UUID);
  });

  it('generates a different id for every request', () => {
    expect(requestIdFrom(undefined)).not.toBe(requestIdFrom(undefined));
  });
});

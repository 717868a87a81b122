import { formatRecord, formatTable } from './output';

describe(formatRecord.name, () => {
  it('aligns the values and shows lists, objects and booleans readably, leaving out empty fields', () => {
    expect(formatRecord('Created client "app"', { client_id: 'app', grant_types: ['password', 'refresh_token'], jwks: { keys: [] }, require_pkce: false, client_name: null, redirect_uris: [] })).toBe(
      ['Created client "app"', '  client_id      app', '  grant_types    password refresh_token', '  jwks           {"keys":[]}', '  require_pkce   false', '  redirect_uris  -', ''].join('\n'),
    );
  });
});

describe(formatTable.name, () => {
  const columns: [string, (row: never) => unknown][] = [
    ['CLIENT_ID', (c: { id: string }) => c.id],
    ['GRANT_TYPES', (c: { grants: string[] }) => c.grants],
    ['NAME', (c: { name: string | null }) => c.name],
  ];

  it('pads every column but the last to its widest cell', () => {
    expect(formatTable(columns, [{ id: 'gatehouse-admin', grants: ['client_credentials'], name: 'Bootstrap' }, { id: 'app', grants: [], name: null }], 'No clients.')).toBe(
      ['CLIENT_ID        GRANT_TYPES         NAME', 'gatehouse-admin  client_credentials  Bootstrap', 'app              -                   -', ''].join('\n'),
    );
  });

  it('says so when there are no rows', () => {
    expect(formatTable(columns, [], 'No clients.')).toBe('No clients.\n');
  });
});

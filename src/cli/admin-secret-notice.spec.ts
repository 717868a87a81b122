import { adminSecretBox, RESET_ADMIN_SECRET_HINT } from './admin-secret-notice';

describe(adminSecretBox.name, () => {
  const notice = {
    headline: 'Gatehouse created the bootstrap admin client.',
    clientId: 'gatehouse-admin',
    secret: 'Zm9vYmFyLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVmZ2hpams',
    issuer: 'http://localhost:3000',
  };

  it('draws every line of the box at the same width, framed top and bottom', () => {
    const lines = adminSecretBox(notice).split('\n');
    expect(lines.pop()).toBe('');
    const width = lines[0].length;
    for (const line of lines) expect(line).toHaveLength(width);
    expect(lines[0]).toMatch(/^\+-+\+$/);
    expect(lines[lines.length - 1]).toBe(lines[0]);
    for (const line of lines.slice(1, -1)) expect(line).toMatch(/^\| .* \|$/);
  });

  it('shows the client id, the secret once, where to use them and how to recover', () => {
    const box = adminSecretBox(notice);
    expect(box).toContain('|   client_id      gatehouse-admin ');
    expect(box).toContain(`|   client_secret  ${notice.secret} `);
    expect(box.split(notice.secret)).toHaveLength(2);
    expect(box).toContain('| Admin token: grant_type=client_credentials at http://localhost:3000/oauth2/token ');
    for (const line of RESET_ADMIN_SECRET_HINT) expect(box).toContain(`| ${line} `);
    expect(box).toContain('| Gatehouse created the bootstrap admin client. ');
  });
});

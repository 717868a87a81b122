/** How an operator gets a new admin secret: the same words at start-up, in the CLI and in docs/operations.md. */
export const RESET_ADMIN_SECRET_HINT = [
  'Lost it? `npm run admin -- reset-admin-secret` issues a new one',
  '  (`gatehouse-admin reset-admin-secret` where the package is installed).',
];

export interface AdminSecretNotice {
  /** What happened, e.g. "Gatehouse created the bootstrap admin client." */
  headline: string;
  clientId: string;
  secret: string;
  issuer: string;
}

/**
 * The admin client's secret in a box (main.ts at the first start, the CLI's reset-admin-secret), written once to stderr: whatever LOG_LEVEL says, never
 * through the logger (so it reaches no log pipeline), and easy to spot in a terminal.
 */
export function adminSecretBox({ headline, clientId, secret, issuer }: AdminSecretNotice): string {
  const lines = [
    headline,
    'Its secret is shown this once; only a digest of it is stored. Keep it now.',
    '',
    `  client_id      ${clientId}`,
    `  client_secret  ${secret}`,
    '',
    `Admin token: grant_type=client_credentials at ${issuer}/oauth2/token`,
    ...RESET_ADMIN_SECRET_HINT,
  ];
  const width = Math.max(...lines.map((line) => line.length));
  const rule = `+${'-'.repeat(width + 2)}+`;
  return [rule, ...lines.map((line) => `| ${line.padEnd(width)} |`), rule].map((line) => `${line}\n`).join('');
}

import { existsSync } from 'node:fs';

/** Where a Chromium or Chrome binary usually is; CHROMIUM_PATH names another. */
const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

/**
 * The browser the login-page test drives. In CI (.ci/run installs Debian's chromium) a missing
 * browser is an error; on a developer's machine without one the browser suite is skipped with a
 * warning, so that `npm test` still runs everything else.
 */
export function chromiumPath(): string | undefined {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) return configured;
  const found = CANDIDATES.find((path) => existsSync(path));
  if (!found && !process.env.CI) {
    process.stderr.write('No Chromium found (set CHROMIUM_PATH): the hosted login page browser test is skipped.\n');
  }
  return found ?? (process.env.CI ? CANDIDATES[0] : undefined);
}

/** Command-line switches for the headless browser suites: no sandbox (containers), nothing phoning home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

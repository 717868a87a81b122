import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { minVersion, satisfies } from 'semver';

/**
 * Issue 12 item 8: `npm ci` prints no EBADENGINE warning. Every package the lockfile installs
 * must support the oldest Node.js that package.json's `engines` allows.
 */
describe('installed packages', () => {
  const root = join(__dirname, '..');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { engines?: { node?: string } | string[] }> };

  it('all support the oldest Node.js of engines', () => {
    const oldest = minVersion(pkg.engines.node)!.version;
    expect(oldest).toBe('20.19.0');
    const refused = Object.entries(lock.packages)
      .map(([path, entry]) => [path, Array.isArray(entry.engines) ? undefined : entry.engines?.node] as const)
      .filter(([, range]) => range !== undefined && !satisfies(oldest, range, { includePrerelease: true }))
      .map(([path, range]) => `${path.replace(/^node_modules\//, '')} needs node ${range}`);
    expect(refused).toEqual([]);
  });
});

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApp, type TestApp } from '../support/app';
import { parseDocFile, resultComments, ShellSession, type BlockRun, type DocFile, type Example } from '../support/doc-examples';

/**
 * Every curl example of README.md and docs/*.md runs against a live Gatehouse, in order, one shell
 * session per file, and prints what the document says it prints. A new file in docs/ is picked up
 * on its own. Each file gets a fresh instance on a fresh database; the examples in docs/ continue
 * from the README's walkthrough (its variables are set, its client and user exist).
 */

const ROOT = join(__dirname, '../..');
const FILES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const DOCS: DocFile[] = FILES.map((file) => parseDocFile(ROOT, file));
const README = DOCS[0];

/** What the README tells the reader: the bootstrap admin client's default id, and the secret in $ADMIN_SECRET. */
const BOOTSTRAP_ADMIN_CLIENT_ID = 'gatehouse-admin';
const ADMIN_SECRET = 'docs-examples-admin-secret-0123456789abcdef';

const runnable = (doc: DocFile) => doc.examples.filter((e) => e.noTest === undefined);
const title = (e: Example) => `${e.file}:${e.fenceLine} ${firstLine(e.code)}`;
const firstLine = (code: string) => (code.split('\n').find((l) => l.trim() && !l.trim().startsWith('#')) ?? '').trim().slice(0, 70);

async function startDocumentedInstance(doc: DocFile): Promise<{ t: TestApp; session: ShellSession }> {
  const t = await startApp({
    env: {
      // The issuer a reader gets by default; requests go to the test's port instead.
      ISSUER: 'http://localhost:3000',
      BOOTSTRAP_ADMIN_CLIENT_ID,
      BOOTSTRAP_ADMIN_CLIENT_SECRET: ADMIN_SECRET,
      // The documented default, not the suites' "off".
      LOGIN_RATE_LIMIT: '',
      LOGIN_RATE_LIMIT_PER_CLIENT: '',
      ...README.env,
      ...doc.env,
    },
  });
  const address = t.app.getHttpServer().address() as { port: number };
  return { t, session: new ShellSession(`http://127.0.0.1:${address.port}`, { ADMIN_SECRET }) };
}

/** '' when the block ran as documented; otherwise what went wrong, with the block's output. */
function failures(example: Example, run: BlockRun): string {
  const serverErrors = run.statuses.filter((s) => s >= 500);
  const problems = [
    ...(run.exitCode === 0 ? [] : [`exited with ${run.exitCode}`]),
    ...run.problems,
    ...(serverErrors.length ? [`server errors: ${serverErrors.join(', ')}`] : []),
  ];
  return problems.length ? `${title(example)}\n${problems.join('\n')}\n--- output ---\n${run.output.slice(-4000)}` : '';
}

describe('Documentation examples', () => {
  it('README.md and docs/ never link to ../shared, which a clone does not have', () => {
    const offenders = FILES.filter((file) => readFileSync(join(ROOT, file), 'utf8').includes('../shared'));
    expect(offenders).toEqual([]);
  });

  it('every relative link of README.md and docs/ points to a file and heading that exist', () => {
    const broken: string[] = [];
    for (const file of FILES) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const [link, target, anchor] of text.matchAll(/\]\((?!https?:|mailto:)([^)#\s]*)(?:#([^)\s]*))?\)/g)) {
        const path = target ? join(ROOT, file, '..', decodeURIComponent(target)) : join(ROOT, file);
        if (!path.startsWith(`${ROOT}/`) || path.includes('/node_modules/')) broken.push(`${file}: ${link} (outside the repository)`);
        else if (!existsSync(path)) broken.push(`${file}: ${link}`);
        else if (anchor && path.endsWith('.md') && !headingAnchors(readFileSync(path, 'utf8')).has(anchor)) broken.push(`${file}: ${link} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('every block that is not run says why, and every result comment is in the checked form', () => {
    const unexplained = DOCS.flatMap((d) => d.examples.filter((e) => e.noTest !== undefined && e.noTest.length < 10).map(title));
    expect(unexplained).toEqual([]);
    expect(DOCS.flatMap((d) => d.malformedResults)).toEqual([]);
  });

  it('the README has a walkthrough to run, and most examples run', () => {
    expect(runnable(README).length).toBeGreaterThanOrEqual(5);
    const all = DOCS.flatMap((d) => d.examples);
    expect(all.filter((e) => e.noTest !== undefined).length).toBeLessThanOrEqual(all.length / 10);
  });

  describe('the checker itself', () => {
    let t: TestApp;
    let session: ShellSession;
    beforeAll(async () => ({ t, session } = await startDocumentedInstance(README)));
    afterAll(async () => {
      session.close();
      await t.close();
    });

    const check = (code: string) => session.run({ code, results: resultComments(code).results });

    it('passes a block whose output is what its comments say', async () => {
      const run = await check('curl -s http://localhost:3000/health/live\n# 200 {"status":"ok",…}');
      expect(run.problems).toEqual([]);
      expect(run.exitCode).toBe(0);
    });

    it('reports a wrong status, a missing key, an undocumented key, a wrong value, and a failing command', async () => {
      const wrongStatus = await check('curl -s http://localhost:3000/health/live\n# 201 {"status":"ok",…}');
      expect(wrongStatus.problems).toEqual([expect.stringContaining('status 200, documented 201')]);
      const missingKey = await check('curl -s http://localhost:3000/health/live\n# {"status":"ok","nope":…,…}');
      expect(missingKey.problems).toEqual([expect.stringContaining('$.nope: missing')]);
      const extraKey = await check('curl -s http://localhost:3000/health/live\n# {"status":"ok"}');
      expect(extraKey.problems).toEqual([expect.stringContaining('also has')]);
      const wrongValue = await check('curl -s http://localhost:3000/health/live\n# {"status":"down",…}');
      expect(wrongValue.problems).toEqual([expect.stringContaining('expected "down"')]);
      const failing = await check('curl -s http://localhost:3000/health/live | jq -e .nope');
      expect(failing.exitCode).not.toBe(0);
      const unset = await check('curl -s "http://localhost:3000/$NOT_SET_ANYWHERE"');
      expect(unset.exitCode).not.toBe(0);
    });

    it('carries variables and functions from block to block', async () => {
      await check('GREETING=hello; shout() { echo "$1!"; }; curl -s -o /dev/null http://localhost:3000/health/live');
      const run = await check('test "$(shout "$GREETING")" = "hello!" && curl -s http://localhost:3000/health/live\n# {"status":"ok",…}');
      expect(run.exitCode).toBe(0);
      expect(run.problems).toEqual([]);
    });
  });

  describe.each(DOCS.filter((d) => runnable(d).length > 0).map((d) => [d.file, d] as const))('%s', (file, doc) => {
    let t: TestApp;
    let session: ShellSession;

    beforeAll(async () => {
      ({ t, session } = await startDocumentedInstance(doc));
      if (doc === README) return;
      // The pages of docs/ continue from the README's walkthrough.
      for (const example of runnable(README)) {
        const failed = failures(example, await session.run(example));
        if (failed) throw new Error(`The README walkthrough failed before ${file}:\n${failed}`);
      }
    });

    afterAll(async () => {
      session?.close();
      await t?.close();
    });

    it.each(runnable(doc).map((e) => [title(e), e] as const))('%s', async (_title, example) => {
      expect(failures(example, await session.run(example))).toBe('');
    });
  });
});

/** The anchors GitHub gives a markdown file's headings (github-slugger), outside code blocks. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^(```|~~~)/.test(line)) inFence = !inFence;
    const heading = !inFence && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = heading[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${base}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

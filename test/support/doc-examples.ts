import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The shell examples of the README and docs/*.md, run against a live Gatehouse so they never rot.
 *
 * A fenced block whose language is sh, bash or shell and which contains `curl` is an example. The
 * examples of one file run in order in one shell session: variables and functions carry from block
 * to block, as they do for a reader pasting them into a terminal. A block the test cannot run says
 * so and why in its info string: ```sh no-test: needs a TLS-terminating proxy.
 *
 * Under a command, a comment that starts with a status code or with `{` or `[` is the result the
 * reader should see, and is checked: `# 201 {"client_id":"my-app","client_secret":"…",…}`.
 * `…` stands for any value, `"eyJ…"` for a string with that start (and end), and a `…` member for
 * more members (object keys or array items); without one, the keys must be exactly those shown.
 */

export const SHELL_LANGUAGES = ['sh', 'bash', 'shell'];
/** Every example is written against the default address; the test rewrites it to the live instance. */
export const DOCUMENTED_BASE_URL = 'http://localhost:3000';

export interface ResultComment {
  /** Line within the block (1-based), of the comment's first line. */
  line: number;
  status?: number;
  /** The JSON-like text after the status, if any. */
  body?: string;
  text: string;
}

export interface Example {
  file: string;
  /** Line of the opening fence in the markdown file (1-based). */
  fenceLine: number;
  code: string;
  /** Set for blocks marked no-test; the text after it is the reason. */
  noTest?: string;
  results: ResultComment[];
}

export interface DocFile {
  file: string;
  examples: Example[];
  /** `<!-- docs-test env: NAME=value ... -->`: how Gatehouse must be configured for this file's examples. */
  env: Record<string, string>;
  /** Comments that look like results but are not in the checked form. */
  malformedResults: string[];
}

const RESULT_START = /^#\s*(?:(\d{3})(?:\s+([{[].*))?|([{[].*))\s*$/;

function bracketDepth(text: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return depth;
}

/** The result comments of a block: one per command whose output the reader is shown. */
export function resultComments(code: string): { results: ResultComment[]; malformed: string[] } {
  const lines = code.split('\n');
  const results: ResultComment[] = [];
  const malformed: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const match = RESULT_START.exec(line);
    if (!match) {
      // A JSON-looking result in another shape (inline, "-> {...}") would silently go unchecked.
      if (/#.*(\{"|\[")/.test(line) || /#\s*->/.test(line)) malformed.push(`line ${i + 1}: ${line}`);
      continue;
    }
    const status = match[1] ? Number(match[1]) : undefined;
    let body = match[2] ?? match[3];
    const first = i;
    while (body !== undefined && bracketDepth(body) > 0 && i + 1 < lines.length && /^\s*#/.test(lines[i + 1])) {
      i++;
      body += lines[i].trim().replace(/^#\s*/, '');
    }
    if (body !== undefined && bracketDepth(body) !== 0) malformed.push(`line ${first + 1}: unbalanced result ${body}`);
    results.push({ line: first + 1, status, body, text: lines.slice(first, i + 1).join('\n') });
  }
  return { results, malformed };
}

/** The shell examples of one markdown file, in order. */
export function parseDocFile(root: string, file: string): DocFile {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const examples: Example[] = [];
  const malformedResults: string[] = [];
  const env: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const envMarker = /^<!--\s*docs-test env:(.*?)-->/.exec(lines[i]);
    if (envMarker) {
      for (const pair of envMarker[1].trim().split(/\s+/)) {
        const [name, ...value] = pair.split('=');
        env[name] = value.join('=');
      }
    }
    const fence = /^(`{3,}|~{3,})\s*(\S*)\s*(.*)$/.exec(lines[i]);
    if (!fence) continue;
    const [, marker, language, rest] = fence;
    const start = i;
    const body: string[] = [];
    const closing = new RegExp(`^\\s*\\${marker[0]}{${marker.length},}\\s*$`);
    for (i++; i < lines.length && !closing.test(lines[i]); i++) body.push(lines[i]);
    const code = body.join('\n');
    if (!SHELL_LANGUAGES.includes(language) || !/\bcurl\b/.test(code)) continue;
    const noTest = /^no-test\b:?\s*(.*)$/.exec(rest.trim());
    const { results, malformed } = resultComments(code);
    malformedResults.push(...malformed.map((m) => `${file}:${start + 1} ${m}`));
    examples.push({ file, fenceLine: start + 1, code, noTest: noTest ? noTest[1] : undefined, results });
  }
  return { file, examples, env, malformedResults };
}

// ---- results: a tolerant JSON reader for what the docs show, and a matcher against real output ----

const ANY = Symbol('any');
const MORE = Symbol('more');
type Pattern =
  | typeof ANY
  | { kind: 'string'; parts: string[] }
  | { kind: 'object'; members: [string, Pattern][]; more: boolean }
  | { kind: 'array'; items: Pattern[]; more: boolean }
  | { kind: 'literal'; value: number | boolean | null | string };

/** Parses the documented result: JSON, plus `…` for any value, in strings, and for "more members". */
export function parsePattern(text: string): Pattern {
  let pos = 0;
  const fail = (what: string): never => {
    throw new Error(`cannot read result ${JSON.stringify(text)} at ${pos}: ${what}`);
  };
  const ws = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const value = (): Pattern | typeof MORE => {
    ws();
    const c = text[pos];
    if (c === '…') {
      pos++;
      return MORE;
    }
    if (c === '{') {
      pos++;
      const members: [string, Pattern][] = [];
      let more = false;
      ws();
      if (text[pos] === '}') {
        pos++;
        return { kind: 'object', members, more };
      }
      for (;;) {
        ws();
        if (text[pos] === '…') {
          pos++;
          more = true;
        } else {
          const key = string();
          ws();
          if (text[pos++] !== ':') fail('expected ":"');
          const v = value();
          members.push([key.parts.join('…'), v === MORE ? ANY : v]);
        }
        ws();
        if (text[pos] === ',') pos++;
        else if (text[pos] === '}') {
          pos++;
          return { kind: 'object', members, more };
        } else fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      pos++;
      const items: Pattern[] = [];
      let more = false;
      ws();
      if (text[pos] === ']') {
        pos++;
        return { kind: 'array', items, more };
      }
      for (;;) {
        const v = value();
        if (v === MORE) more = true;
        else items.push(v);
        ws();
        if (text[pos] === ',') pos++;
        else if (text[pos] === ']') {
          pos++;
          return { kind: 'array', items, more };
        } else fail('expected "," or "]"');
      }
    }
    if (c === '"') {
      const s = string();
      return s.parts.length === 1 ? { kind: 'literal', value: s.parts[0] } : s;
    }
    const literal = /^(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(pos));
    if (!literal) return fail('expected a value');
    pos += literal[0].length;
    return { kind: 'literal', value: JSON.parse(literal[0]) as number | boolean | null };
  };
  const string = (): { kind: 'string'; parts: string[] } => {
    const start = pos;
    if (text[pos] !== '"') fail('expected a string');
    pos++;
    while (pos < text.length && text[pos] !== '"') pos += text[pos] === '\\' ? 2 : 1;
    if (text[pos] !== '"') fail('unterminated string');
    pos++;
    const decoded = JSON.parse(text.slice(start, pos)) as string;
    return { kind: 'string', parts: decoded.split('…') };
  };
  const result = value();
  ws();
  if (pos !== text.length) fail('trailing text');
  return result === MORE ? ANY : result;
}

/** Every way `actual` differs from the documented pattern, as paths with what was expected. */
export function mismatches(pattern: Pattern, actual: unknown, path = '$'): string[] {
  if (pattern === ANY) return actual === undefined ? [`${path}: missing`] : [];
  switch (pattern.kind) {
    case 'literal':
      return actual === pattern.value ? [] : [`${path}: expected ${JSON.stringify(pattern.value)}, got ${JSON.stringify(actual)}`];
    case 'string': {
      if (typeof actual !== 'string') return [`${path}: expected a string like "${pattern.parts.join('…')}", got ${JSON.stringify(actual)}`];
      const first = pattern.parts[0];
      const last = pattern.parts[pattern.parts.length - 1];
      let ok = actual.startsWith(first) && actual.endsWith(last) && actual.length >= first.length + last.length;
      let at = first.length;
      for (const middle of pattern.parts.slice(1, -1)) {
        const found = actual.indexOf(middle, at);
        if (found < 0 || found + middle.length > actual.length - last.length) ok = false;
        else at = found + middle.length;
      }
      return ok ? [] : [`${path}: expected a string like "${pattern.parts.join('…')}", got ${JSON.stringify(actual)}`];
    }
    case 'object': {
      if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
      const record = actual as Record<string, unknown>;
      const problems: string[] = [];
      for (const [key, value] of pattern.members) {
        if (!(key in record)) problems.push(`${path}.${key}: missing`);
        else problems.push(...mismatches(value, record[key], `${path}.${key}`));
      }
      if (!pattern.more) {
        const shown = new Set(pattern.members.map(([key]) => key));
        const extra = Object.keys(record).filter((key) => !shown.has(key));
        if (extra.length) problems.push(`${path}: also has ${extra.join(', ')} (add them, or end the object with …)`);
      }
      return problems;
    }
    case 'array': {
      if (!Array.isArray(actual)) return [`${path}: expected an array, got ${JSON.stringify(actual)}`];
      const problems = pattern.items.flatMap((item, i) => (i < actual.length ? mismatches(item, actual[i], `${path}[${i}]`) : [`${path}[${i}]: missing`]));
      if (!pattern.more && actual.length !== pattern.items.length) problems.push(`${path}: ${actual.length} items, ${pattern.items.length} shown`);
      return problems;
    }
  }
}

// ---- the shell session ----

/** One recorded curl call: which block and line made it, its response status and body. */
interface CurlCall {
  block: number;
  line: number;
  status?: number;
  body: string;
}

export interface BlockRun {
  exitCode: number | null;
  output: string;
  /** Results that differ from what the block's comments say. */
  problems: string[];
  /** Every HTTP status the block's curl calls received. */
  statuses: number[];
}

/**
 * `curl`, recording what each call received (status from a header dump, the body as written) and
 * from which line of the block it was made, then passing the output on unchanged.
 */
const CURL_RECORDER = String.raw`
curl() {
  local out rc=0
  out=$(mktemp "$DOCS_OUT/call.XXXXXX")
  if command curl -D "$out.headers" "$@" > "$out.body"; then rc=0; else rc=$?; fi
  cat "$out.body"
  printf '%s %s %s\n' "$DOCS_BLOCK" "$BASH_LINENO" "$out" >> "$DOCS_OUT/calls"
  return $rc
}
`;

function lastStatus(headers: string): number | undefined {
  const statuses = [...headers.matchAll(/^HTTP\/[\d.]+ (\d{3})/gm)].map((m) => Number(m[1]));
  return statuses.at(-1);
}

/** A bash session in a directory of its own: the examples of one file, run block after block. */
export class ShellSession {
  readonly dir = mkdtempSync(join(tmpdir(), 'gh-docs-'));
  private blocks = 0;

  constructor(
    private readonly baseUrl: string,
    variables: Record<string, string>,
  ) {
    writeFileSync(join(this.dir, 'curl.sh'), CURL_RECORDER);
    writeFileSync(
      join(this.dir, 'state.sh'),
      Object.entries(variables)
        .map(([name, value]) => `export ${name}=${shellQuote(value)}\n`)
        .join(''),
    );
  }

  async run(example: Pick<Example, 'code' | 'results'>): Promise<BlockRun> {
    const block = ++this.blocks;
    const file = join(this.dir, `block-${block}.sh`);
    writeFileSync(file, example.code.split(DOCUMENTED_BASE_URL).join(this.baseUrl));
    const script = [
      'set -a',
      `source ${shellQuote(join(this.dir, 'state.sh'))}`,
      `source ${shellQuote(join(this.dir, 'curl.sh'))}`,
      `DOCS_OUT=${shellQuote(this.dir)} DOCS_BLOCK=${block}`,
      'set -euo pipefail',
      `source ${shellQuote(file)}`,
      'set +eu',
      `{ export -p | grep -v '^declare -[a-zA-Z]*r'; declare -f; } > ${shellQuote(join(this.dir, 'state.sh'))}`,
    ].join('\n');
    const { exitCode, output } = await runBash(script, this.dir);
    const calls = this.calls().filter((c) => c.block === block);
    return { exitCode, output, problems: checkResults(example.results, calls), statuses: calls.flatMap((c) => (c.status ? [c.status] : [])) };
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private calls(): CurlCall[] {
    const log = join(this.dir, 'calls');
    if (!existsSync(log)) return [];
    return readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((entry) => {
        const [block, line, out] = entry.split(' ');
        const headers = existsSync(`${out}.headers`) ? readFileSync(`${out}.headers`, 'utf8') : '';
        return { block: Number(block), line: Number(line), status: lastStatus(headers), body: readFileSync(`${out}.body`, 'utf8') };
      });
  }
}

/** Each result comment against the last curl call made between the previous result comment and it. */
function checkResults(results: ResultComment[], calls: CurlCall[]): string[] {
  const problems: string[] = [];
  let previous = 0;
  for (const result of results) {
    const call = calls.filter((c) => c.line > previous && c.line < result.line).at(-1);
    previous = result.line;
    const where = `result at block line ${result.line} (${result.text.split('\n')[0]})`;
    if (!call) {
      problems.push(`${where}: no curl call above it ran`);
      continue;
    }
    if (result.status !== undefined && call.status !== result.status) problems.push(`${where}: status ${call.status}, documented ${result.status}`);
    if (result.body === undefined) continue;
    let actual: unknown;
    try {
      actual = JSON.parse(call.body);
    } catch {
      problems.push(`${where}: the output is not JSON: ${call.body.slice(0, 300)}`);
      continue;
    }
    try {
      problems.push(...mismatches(parsePattern(result.body), actual).map((m) => `${where}: ${m} (output ${call.body.slice(0, 600)})`));
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}`);
    }
  }
  return problems;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function runBash(script: string, cwd: string): Promise<{ exitCode: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Asynchronous on purpose: the Gatehouse under test runs in this very process.
    const child = spawn('bash', ['--noprofile', '--norc', '-c', script], {
      cwd,
      env: {
        PATH: process.env.PATH,
        HOME: cwd,
        TMPDIR: cwd,
        LANG: 'C.UTF-8',
        // Examples that use Gatehouse's own dependencies (sm-crypto) are run from the checkout.
        NODE_PATH: join(__dirname, '../../node_modules'),
      },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ exitCode, output }));
  });
}

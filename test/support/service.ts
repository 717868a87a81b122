import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = resolve(__dirname, '../..');
const DIST_PREFIX = 'gatehouse-dist-';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/**
 * The service compiled as `npm run build` does, into a directory outside the checkout named by a
 * digest of the sources: suites that run the real process (and parallel runs) share one compile of
 * the same code, and never an output of other code.
 */
export async function compiledService(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of [...sourceFiles(join(ROOT, 'src')).sort(), join(ROOT, 'tsconfig.json'), join(ROOT, 'tsconfig.build.json')]) {
    hash.update(file).update(readFileSync(file));
  }
  const outDir = join(tmpdir(), `${DIST_PREFIX}${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(outDir, 'main.js'))) return outDir;
  const building = mkdtempSync(join(tmpdir(), 'gatehouse-build-'));
  await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', building]);
  try {
    renameSync(building, outDir);
  } catch {
    // Another suite finished the same compile first.
    rmSync(building, { recursive: true, force: true });
  }
  // Outputs of older sources, left by earlier runs.
  for (const name of readdirSync(tmpdir())) {
    const dir = join(tmpdir(), name);
    if (name.startsWith(DIST_PREFIX) && dir !== outDir && Date.now() - statSync(dir).mtimeMs > 24 * 3600_000) rmSync(dir, { recursive: true, force: true });
  }
  return outDir;
}

/** A free TCP port on the loopback interface (the child binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** The environment every child gets: the checkout's dependencies, production mode, no colours. */
export function serviceEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH!,
    // The compiled files live outside the checkout; their dependencies are the checkout's.
    NODE_PATH: join(ROOT, 'node_modules'),
    NODE_ENV: 'production',
    NO_COLOR: '1',
    ...env,
  };
}

export interface ServiceOptions {
  /** Working directory (relative sqlite: paths resolve against it); the compiled directory by default. */
  cwd?: string;
  /** stdout and stderr into one file, in the order written (to test what comes after what); two pipes otherwise. */
  combined?: boolean;
}

/** A compiled entry point (main.js) started as a child process, in its own process group with any workers. */
export class Service {
  stdout = '';
  stderr = '';
  private piped = '';
  private readonly combinedFile?: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(outDir: string, env: Record<string, string>, options: ServiceOptions = {}) {
    let stdio: ['ignore', 'pipe' | number, 'pipe' | number] = ['ignore', 'pipe', 'pipe'];
    let fd: number | undefined;
    if (options.combined) {
      this.combinedFile = join(mkdtempSync(join(tmpdir(), 'gatehouse-out-')), 'output');
      fd = openSync(this.combinedFile, 'w');
      stdio = ['ignore', fd, fd];
    }
    this.child = spawn(process.execPath, [join(outDir, 'main.js')], {
      cwd: options.cwd ?? outDir,
      // Its own process group, so that the workers go with the primary whatever happens.
      detached: true,
      stdio,
      env: serviceEnv(env),
    });
    if (fd !== undefined) closeSync(fd);
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      this.piped += chunk.toString();
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
      this.piped += chunk.toString();
    });
    this.exited = new Promise((done) => this.child.once('exit', (code, signal) => done({ code, signal })));
    process.once('exit', this.kill);
  }

  /** Everything written so far: in order when `combined`, else stdout and stderr as they arrived. */
  get output(): string {
    return this.combinedFile ? readFileSync(this.combinedFile, 'utf8') : this.piped;
  }

  /** The JSON log lines written so far (any other line, like the admin secret's box, is left out). */
  logEntries(): Record<string, unknown>[] {
    return this.output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Pids of the processes that logged "Listening on port": the workers, in the order they started. */
  listeningPids(): number[] {
    return [...new Set(this.logEntries().filter((e) => String(e.msg).startsWith('Listening on port')).map((e) => Number(e.pid)))];
  }

  /** Waits (polling the output, at most `ms`) until `done()` holds; fails with the output otherwise. */
  async until(done: () => boolean, what: string, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (!this.running) throw new Error(`The service exited while waiting for ${what}:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The exit status, once the primary has exited; fails if it is still running after `ms`. */
  async exit(ms = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`Still running after ${ms} ms:\n${this.output}`)), ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the primary and its workers (one process group, started here), synchronously. */
  readonly kill = () => {
    if (!this.running) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };

  async stop(): Promise<void> {
    process.off('exit', this.kill);
    if (this.running) {
      this.kill();
      await this.exited;
    }
    if (this.combinedFile) rmSync(resolve(this.combinedFile, '..'), { recursive: true, force: true });
  }
}

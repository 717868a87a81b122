#!/usr/bin/env node
import 'reflect-metadata';
import { type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { userInfo } from 'node:os';
import { loadConfig } from '../config/app-config';
import { openDatabase } from '../database/open-database';
import { AdminCliModule } from './admin-cli.module';
import { errorLine, UsageError } from './cli-error';
import { helpText, parseCommandLine, type CommandContext } from './commands';

const PROGRAM = 'gatehouse-admin';

/** Warnings and errors of the services, one line each on stderr; their progress messages stay quiet. */
const stderrLogger: LoggerService = {
  log: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
  warn: (message: unknown) => void process.stderr.write(`${PROGRAM}: warning: ${String(message).split('\n')[0]}\n`),
  error: (message: unknown) => void process.stderr.write(`${PROGRAM}: error: ${String(message).split('\n')[0]}\n`),
  fatal: (message: unknown) => void process.stderr.write(`${PROGRAM}: error: ${String(message).split('\n')[0]}\n`),
};

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (chunk: Buffer) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

/** The audit trail's actor for changes made here: the operating-system user who ran the command. */
function actor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

/**
 * `gatehouse-admin <command>` (also `npm run admin -- <command>`): the admin API's operations for an
 * operator at the console, through the same services and validation, in a Nest application context
 * on the database of DATABASE_URL. One line on stderr and a non-zero status when refused.
 */
async function main(argv: string[]): Promise<number> {
  const invocation = parseCommandLine(argv);
  if (invocation.help || !invocation.command) {
    process.stdout.write(helpText(invocation.command));
    return 0;
  }
  const { command } = invocation;
  // The CLI never starts the purge timer; the service's instances do that.
  const config = Object.assign(loadConfig(), { purgeIntervalSeconds: 0 });
  // Every command but migrate runs on an up-to-date schema, as the service does; migrate runs them itself.
  const dataSource = await openDatabase(config.databaseUrl, { migrationsRun: command.needsServices });
  try {
    const app = command.needsServices
      ? await NestFactory.createApplicationContext(AdminCliModule.forRoot(config, dataSource), { logger: stderrLogger, abortOnError: false })
      : undefined;
    try {
      const context: CommandContext = {
        get: (type) => {
          if (!app) throw new Error(`${command.name} runs without the application's services`);
          return app.get(type);
        },
        config,
        dataSource,
        actor: actor(),
        readStdin,
      };
      const result = await command.run(context, invocation.values, invocation.positionals);
      if (result.notice) process.stderr.write(result.notice);
      process.stdout.write(invocation.json ? `${JSON.stringify(result.json, null, 2)}\n` : result.text);
      return 0;
    } finally {
      await app?.close();
    }
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
  }
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error: unknown) => {
    process.stderr.write(`${PROGRAM}: ${errorLine(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);

#!/usr/bin/env node
import 'reflect-metadata';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { ConfigError, loadConfig } from './config.js';
import { createApp, modules, ROLES, type Role } from './app.js';
import { buildOpsSchema, printOpsSchema } from './graphql/schema.js';
import { applyMigrations, createMigration, prismaDir } from './infra/migrations.js';
import { flushLogger } from './infra/logger.js';
import { systemActor } from './modules/audit/audit.recorder.js';
import { DependencyUnavailableError, preparePostgres, probeRedis } from './infra/preflight.js';

const PREFLIGHT_TIMEOUT_MS = 4_000;
const schemaFile = path.join(prismaDir, '..', 'schema', 'schema.graphql');

/** Errors a person can act on end the process with one line; anything else with its stack. */
function fail(err: unknown): never {
  if (err instanceof ConfigError || err instanceof DependencyUnavailableError) {
    process.stderr.write(`opsgraph: ${err.message}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  }
  process.stderr.write(`opsgraph: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}

async function migrate(databaseUrl: string): Promise<string[]> {
  await preparePostgres(databaseUrl, PREFLIGHT_TIMEOUT_MS);
  return applyMigrations(databaseUrl);
}

const program = new Command('opsgraph').description('Opsgraph IT-operations server').showHelpAfterError();

program
  .command('start')
  .description('apply migrations, then run the API, the workers, or both')
  .addOption(new Option('--role <role>', 'what this process runs').choices(ROLES).default('all'))
  .action(async ({ role }: { role: Role }) => {
    const config = loadConfig();
    await Promise.all([probeRedis(config.REDIS_URL, PREFLIGHT_TIMEOUT_MS), migrate(config.DATABASE_URL)]);
    const app = await createApp(config);
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.logger.info({ signal }, 'shutting down');
      // The last resort if something refuses to close: never hang an orchestrator.
      setTimeout(() => process.exit(1), config.SHUTDOWN_TIMEOUT_MS + 1_500).unref();
      app.stop().then(
        () => flushLogger(app.logger).then(() => process.exit(0)),
        (err) => {
          app.logger.error({ err }, 'shutdown failed');
          void flushLogger(app.logger).then(() => process.exit(1));
        },
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
    const { url } = await app.start(role);
    process.stdout.write(url ? `Opsgraph (${role}) listening on ${url}\n` : `Opsgraph (${role}) running\n`);
  });

program
  .command('migrate')
  .description('create the database if missing and apply pending migrations')
  .action(async () => {
    const applied = await migrate(loadConfig().DATABASE_URL);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
    process.exit(0);
  });

program
  .command('migration')
  .description('write a new migration from the changes to prisma/schema.prisma')
  .argument('<name>', 'short name, e.g. add_users')
  .action(async (name: string) => {
    const dir = await createMigration(loadConfig().DATABASE_URL, name);
    process.stdout.write(dir ? `created ${path.relative(process.cwd(), dir)}\n` : 'no schema changes: nothing to migrate\n');
    process.exit(0);
  });

program
  .command('schema')
  .description('emit the GraphQL SDL to schema/schema.graphql, or check that the committed one matches the code')
  .addOption(new Option('--write', 'write the SDL').conflicts('check'))
  .addOption(new Option('--check', 'exit 1 when the committed SDL differs from the code'))
  .option('--file <path>', 'the SDL file', schemaFile)
  .action(async ({ write, check, file }: { write?: boolean; check?: boolean; file: string }) => {
    const sdl = printOpsSchema(await buildOpsSchema(modules));
    if (write) {
      await writeFile(file, sdl);
      process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
    } else if (check) {
      const committed = await readFile(file, 'utf8').catch(() => '');
      const name = path.relative(process.cwd(), file);
      if (committed !== sdl) {
        process.stderr.write(`${name} differs from the code: run \`npm run schema:emit\` and commit the result\n`);
        process.exit(1);
      }
      process.stdout.write(`${name} matches the code\n`);
    } else {
      process.stdout.write(sdl);
    }
  });

const apikey = program.command('apikey').description('API keys for operator agents and backup jobs');
apikey
  .command('create')
  .description('create an API key and print its secret (shown once)')
  .requiredOption('--name <name>', 'what the key is for, e.g. "cluster1 operator"')
  .option('--node <nodeId>', 'bind the key to one node: it may only report for that node')
  .option('--scopes <list>', 'comma-separated scopes', (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean))
  .action(async ({ name, node, scopes }: { name: string; node?: string; scopes?: string[] }) => {
    const config = loadConfig();
    await migrate(config.DATABASE_URL);
    const app = await createApp({ ...config, LOG_LEVEL: 'warn' });
    try {
      const { apiKey, secret } = await app.auth.apiKeys.create({ name, nodeId: node ?? null, scopes: scopes ?? [] }, systemActor('cli'));
      process.stdout.write(`created API key ${apiKey.id} (${apiKey.name}${apiKey.nodeId ? `, node ${apiKey.nodeId}` : ''})\n${secret}\n`);
    } finally {
      await app.stop();
    }
    process.exit(0);
  });

program.parseAsync(process.argv).catch(fail);

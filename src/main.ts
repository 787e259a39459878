#!/usr/bin/env node
import 'reflect-metadata';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { isEmail } from 'class-validator';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig } from './config.js';
import { createApp, modules, ROLES, type Role } from './app.js';
import { buildOpsSchema, printOpsSchema } from './graphql/schema.js';
import { applyMigrations, createMigration, prismaDir } from './infra/migrations.js';
import { flushLogger } from './infra/logger.js';
import { systemActor } from './auth/actor.js';
import { createAuditRecorder } from './infra/audit-recorder.js';
import { createUsersService } from './modules/users/users.service.js';
import { generatePassword, passwordProblem } from './auth/passwords.js';
import { ROLES as USER_ROLES, type Role as UserRole } from './auth/roles.js';
import { AppError } from './lib/errors.js';
import { assertUuid } from './lib/ids.js';
import { DependencyUnavailableError, preparePostgres, probeRedis } from './infra/preflight.js';
import { isLoopback, runDemo } from './cli/demo.js';
import { generateLicenseKeyPair, issueLicense, PLUGINS } from './lib/license-keys.js';

const PREFLIGHT_TIMEOUT_MS = 4_000;
const execFileAsync = promisify(execFile);
const schemaFile = path.join(prismaDir, '..', 'schema', 'schema.graphql');

/** A command used wrongly: one line, exit 2. */
class CliError extends ConfigError {}

/** Errors a person can act on end the process with one line; anything else with its stack. */
function fail(err: unknown): never {
  if (err instanceof AppError) {
    process.stderr.write(`opsgraph: ${err.message}\n`);
    process.exit(1);
  }
  if (err instanceof ConfigError || err instanceof DependencyUnavailableError) {
    process.stderr.write(`opsgraph: ${err.message}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  }
  process.stderr.write(`opsgraph: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}

/** Whether `file` lies in a git work tree where git would not ignore it (false where git is not installed). */
async function trackableByGit(file: string): Promise<boolean> {
  const dir = path.dirname(path.resolve(file));
  let probe = dir;
  // The directory may not exist yet: ask git from the nearest ancestor that does.
  while (!(await access(probe).then(() => true, () => false))) probe = path.dirname(probe);
  const git = (args: string[]) => execFileAsync('git', ['-C', probe, ...args]).then(() => true, () => false);
  if (!(await git(['rev-parse', '--is-inside-work-tree']))) return false;
  return !(await git(['check-ignore', '-q', path.resolve(file)]));
}

/** Runs `fn` against the configured database (migrated first), then stops the app. */
async function withApp<T>(fn: (app: Awaited<ReturnType<typeof createApp>>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  await migrate(config.DATABASE_URL);
  const app = await createApp({ ...config, LOG_LEVEL: 'warn' });
  try {
    return await fn(app);
  } finally {
    await app.stop();
  }
}

/** Creates a key straight in the configured database, audited as the CLI. */
const createApiKey = (input: { name: string; nodeId: string | null; scopes: string[] }) => withApp((app) => app.auth.apiKeys.create(input, systemActor('cli')));

/** The users service on the CLI's app, audited through the same recorder as the server's. */
const usersOf = (app: Awaited<ReturnType<typeof createApp>>) =>
  createUsersService({ db: app.db.prisma, clock: app.clock, audit: createAuditRecorder({ clock: app.clock }), sessions: app.auth.sessions });

/** For the commands below: bad usage (commander's errors included) is one line on stderr and exit 2, not help and exit 1. */
function strictUsage(cmd: Command): Command {
  return cmd.showHelpAfterError(false).exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
}

/** One line a table cell can hold. */
const cell = (v: string | null | undefined) => (v ? v.replace(/[\t\r\n]+/g, ' ') : '-');

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
        (summary) => {
          app.logger.info(summary, 'stopped');
          return flushLogger(app.logger).then(() => process.exit(0));
        },
        (err) => {
          app.logger.error({ err }, 'shutdown failed');
          void flushLogger(app.logger).then(() => process.exit(1));
        },
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
    const { url } = await app.start(role);
    // Human lines go to stderr: stdout carries only the JSON log lines.
    process.stderr.write(url ? `Opsgraph (${role}) listening on ${url}\n` : `Opsgraph (${role}) running\n`);
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
    const { apiKey, secret } = await createApiKey({ name, nodeId: node ?? null, scopes: scopes ?? [] });
    process.stdout.write(`created API key ${apiKey.id} (${apiKey.name}${apiKey.nodeId ? `, node ${apiKey.nodeId}` : ''})\n${secret}\n`);
    process.exit(0);
  });

strictUsage(apikey.command('list'))
  .description('list API keys (tab-separated: id, name, prefix, node, scopes, last used, revoked); never their secrets')
  .action(async () => {
    const keys = await withApp((app) => app.auth.apiKeys.list());
    const rows = keys.map((k) => [k.id, cell(k.name), k.prefix, cell(k.nodeId), cell(k.scopes.join(',')), cell(k.lastUsedAt?.toISOString()), cell(k.revokedAt?.toISOString())]);
    process.stdout.write([['id', 'name', 'prefix', 'node', 'scopes', 'last used', 'revoked'], ...rows].map((r) => `${r.join('\t')}\n`).join(''));
    process.exit(0);
  });
strictUsage(apikey.command('revoke'))
  .description('revoke an API key: it stops working at its next request (audited as the CLI)')
  .argument('<id>', 'the key id (see apikey list)')
  .action(async (id: string) => {
    try {
      assertUuid(id);
    } catch {
      throw new CliError(`<id>: not an API key id (a UUID): ${id}`);
    }
    const line = await withApp(async (app) => {
      const key = (await app.auth.apiKeys.list()).find((k) => k.id === id.toLowerCase());
      if (!key) throw new AppError('NOT_FOUND', `no API key with id ${id}`);
      if (key.revokedAt) return `API key ${key.id} (${key.name}) was already revoked at ${key.revokedAt.toISOString()}`;
      await app.auth.apiKeys.revoke(key.id, systemActor('cli'));
      return `revoked API key ${key.id} (${key.name})`;
    });
    process.stdout.write(`${line}\n`);
    process.exit(0);
  });

const user = strictUsage(program.command('user').description('people who sign in: create one, reset a password')).action(() => {
  throw new CliError('user: give a command: create or reset-password (see --help)');
});
const parseRole = (v: string): UserRole => {
  const role = v.toUpperCase() as UserRole;
  if (!USER_ROLES.includes(role)) throw new InvalidArgumentError(`one of ${USER_ROLES.join(', ')}`);
  return role;
};
strictUsage(user.command('create'))
  .description('create a user (audited as the CLI); without --password one is generated and printed once')
  .requiredOption('--email <email>', 'their email, the login name')
  .requiredOption('--role <role>', `${USER_ROLES.join(', ')}`, parseRole)
  .option('--password <password>', 'their password (12 to 200 characters; visible in the process list: omit it to have one generated)')
  .action(async (o: { email: string; role: UserRole; password?: string }) => {
    if (!isEmail(o.email) || o.email.length > 254) throw new CliError(`--email: not an email address: ${o.email}`);
    const problem = o.password === undefined ? null : passwordProblem(o.password);
    if (problem) throw new CliError(`--password: ${problem}`);
    const password = o.password ?? generatePassword();
    const created = await withApp((app) => usersOf(app).create({ email: o.email, password, role: o.role }, systemActor('cli')));
    process.stdout.write(`created user ${created.id} (${created.email}, ${created.role})\n`);
    if (!o.password) process.stdout.write(`generated password (shown once; they change it with changePassword):\n${password}\n`);
    process.exit(0);
  });
strictUsage(user.command('reset-password'))
  .description("give a user a new generated password, printed once, and end all of that user's sessions (audited as the CLI)")
  .argument('<email>', 'the user')
  .action(async (email: string) => {
    const password = generatePassword();
    const reset = await withApp(async (app) => {
      const users = usersOf(app);
      const found = await users.getByEmail(email);
      return users.update(found.id, { password }, systemActor('cli'));
    });
    process.stdout.write(`reset the password of ${reset.email}${reset.disabled ? ' (the user stays disabled)' : ''}; their sessions ended. New password (shown once):\n${password}\n`);
    process.exit(0);
  });

program
  .command('demo')
  .description('run a simulated fleet against a running server: statuses with occasional outages, heartbeats and backup reports')
  .option('--url <url>', 'the server', 'http://127.0.0.1:3000')
  .option('--minutes <n>', 'stop after this long', '10')
  .option('--interval <seconds>', 'seconds between reports', '5')
  .option('--seed <n>', 'seed of the random outages', String(Date.now() % 100_000))
  .option('--api-key <key>', 'an API key with the operator and backup scopes (default: create one in the configured database)')
  .option('--allow-remote', 'allow a server that is not on this machine')
  .action(async (o: { url: string; minutes: string; interval: string; seed: string; apiKey?: string; allowRemote?: boolean }) => {
    let url: URL;
    try {
      url = new URL(o.url);
    } catch {
      throw new CliError(`--url: not a URL: ${o.url}`);
    }
    if (!o.allowRemote && !isLoopback(url)) throw new CliError(`--url: ${url.host} is not this machine; pass --allow-remote to write a demo fleet into it`);
    const minutes = Number(o.minutes);
    if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 1_440) throw new CliError('--minutes: a number above 0 and at most 1440');
    const interval = Number(o.interval);
    if (!Number.isFinite(interval) || interval < 1 || interval > 300) throw new CliError('--interval: seconds from 1 to 300');
    const seed = Number(o.seed);
    if (!Number.isInteger(seed)) throw new CliError('--seed: a whole number');
    let key = o.apiKey;
    if (!key) {
      const created = await createApiKey({ name: 'demo fleet', nodeId: null, scopes: ['operator', 'backup'] });
      key = created.secret;
      process.stdout.write(`demo: created API key ${created.apiKey.id} ("demo fleet"; revoke it with revokeApiKey when done)\n`);
    }
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    await runDemo({ url: url.origin, apiKey: key, minutes, intervalSeconds: interval, seed, signal: stop.signal, log: (line) => process.stdout.write(`${line}\n`) });
    process.exit(0);
  });

const license = program.command('license').description('license keys: make a signing key pair, issue keys, activate one');
license
  .command('keygen')
  .description('write a new Ed25519 key pair: license-public.pem (give it to servers as LICENSE_PUBLIC_KEY) and license-private.pem (mode 0600, keep it secret)')
  .option('--out <dir>', 'directory to write the two PEM files to (made mode 0700)', 'license')
  .option('--force', 'overwrite existing files, and write inside a git work tree where git would not ignore the key')
  .action(async ({ out, force }: { out: string; force?: boolean }) => {
    const publicFile = path.join(out, 'license-public.pem');
    const privateFile = path.join(out, 'license-private.pem');
    if (!force) {
      for (const f of [publicFile, privateFile]) {
        const exists = await access(f).then(() => true, () => false);
        if (exists) throw new CliError(`${f} exists; pass --force to replace it (keys it signed stop verifying)`);
      }
      // A signing key one `git add .` away from a commit is a leaked key.
      if (await trackableByGit(privateFile)) {
        throw new CliError(`${privateFile} is inside a git work tree and not ignored; write it elsewhere (--out), ignore it, or pass --force`);
      }
    }
    const pair = generateLicenseKeyPair();
    await mkdir(out, { recursive: true, mode: 0o700 });
    await writeFile(privateFile, pair.privateKeyPem, { mode: 0o600 });
    await writeFile(publicFile, `kid: ${pair.thumbprint}\n${pair.publicKeyPem}`);
    process.stdout.write(`wrote ${publicFile} and ${privateFile} (mode 0600)\nkid (JWK thumbprint): ${pair.thumbprint}\nservers verify with: LICENSE_PUBLIC_KEY=${path.resolve(publicFile)}\n`);
  });
license
  .command('issue')
  .description('print a signed license key')
  .requiredOption('--customer <name>', 'who the license is for')
  .requiredOption('--plugins <list>', `comma-separated, of: ${PLUGINS.join(', ')}`)
  .option('--days <n>', 'days until it expires', '365')
  .option('--max-services <n>', 'most services the fleet may hold')
  .option('--not-before <iso>', 'first instant it is valid (default: now)')
  .option('--key <path>', 'the private key (PEM)', path.join('license', 'license-private.pem'))
  .option('--kid <id>', "the header's kid (default: the key's JWK thumbprint)")
  .action(async (o: { customer: string; plugins: string; days: string; maxServices?: string; notBefore?: string; key: string; kid?: string }) => {
    const plugins = [...new Set(o.plugins.split(',').map((p) => p.trim()).filter(Boolean))];
    const unknown = plugins.filter((p) => !(PLUGINS as readonly string[]).includes(p));
    if (unknown.length) throw new CliError(`--plugins: unknown ${unknown.join(', ')} (known: ${PLUGINS.join(', ')})`);
    const days = Number(o.days);
    if (!Number.isFinite(days) || days <= 0) throw new CliError('--days: a positive number');
    const maxServices = o.maxServices === undefined ? undefined : Number(o.maxServices);
    if (maxServices !== undefined && (!Number.isInteger(maxServices) || maxServices < 1)) throw new CliError('--max-services: a whole number of at least 1');
    const notBefore = o.notBefore === undefined ? undefined : new Date(o.notBefore);
    if (notBefore && Number.isNaN(notBefore.getTime())) throw new CliError('--not-before: an ISO-8601 time');
    const privateKeyPem = await readFile(o.key, 'utf8').catch(() => {
      throw new CliError(`--key: cannot read ${o.key} (make one with \`npm run license -- keygen\`)`);
    });
    const now = new Date();
    const key = await issueLicense({ privateKeyPem, customer: o.customer, plugins, issuedAt: now, expiresAt: new Date(now.getTime() + days * 86_400_000), notBefore, maxServices, kid: o.kid });
    process.stdout.write(`${key}\n`);
  });
license
  .command('activate')
  .description('activate a license key on the configured database (as POST /api/v1/license/activate does)')
  .argument('<licenseKey>')
  .action(async (licenseKey: string) => {
    const answer = await withApp((app) => app.licenses.activate(licenseKey, 'cli', systemActor('cli')));
    process.stdout.write(`activated: ${answer.customer}, plugins ${answer.plugins.join(', ') || 'none'}, expires ${answer.license.expiresAt.toISOString()}\n`);
    process.exit(0);
  });

program.parseAsync(process.argv).catch(fail);

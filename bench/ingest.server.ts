/**
 * The Opsgraph server of the ingest bench, run as a child process so it has a core to itself:
 *   node --import @oxc-node/core/register bench/ingest.server.ts <databaseUrl> <redisPrefix>
 * Opsgraph's real module list, role 'api'. Talks to the bench over IPC only:
 *   → { type: 'ready', url, apiKey }          once listening, with an agent API key bound to no node
 *   ← { type: 'statements' }  → { type: 'statements', count }   SQL statements sent so far
 * Exits on SIGTERM or when the IPC channel closes, so a killed bench leaves no server behind.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { withTimeout } from '../src/lib/timeout.js';
import { generateLicenseKeyPair, issueLicense, PLUGINS } from '../src/lib/license-keys.js';
import { BENCH_ADMIN } from './ingest.fleet.js';
import { systemActor } from '../src/auth/actor.js';

// Every statement of Prisma (through adapter-pg) and of the raw queries goes through pg's Client.
let statements = 0;
const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const query = proto.query;
proto.query = function (this: pg.Client, ...args: unknown[]) {
  statements++;
  return query.apply(this, args);
};

// The SLA queries are the sla plugin's: the server verifies with a pair of its own and activates a license at start.
const licensePair = generateLicenseKeyPair();

async function main(): Promise<void> {
  const [databaseUrl, prefix] = process.argv.slice(2);
  if (!databaseUrl || !prefix || !process.send) throw new Error('usage: ingest.server.ts <databaseUrl> <redisPrefix>, with an IPC channel');
  process.once('SIGTERM', () => process.exit(0));
  process.once('disconnect', () => process.exit(0));

  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: databaseUrl,
    // The bench's own raw pg pool uses the same size, so the baseline has the same connections.
    DATABASE_POOL_MAX: '10',
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_PREFIX: prefix,
    // Given, so no secret is read from or written to the database.
    JWT_SECRET: randomBytes(32).toString('base64url'),
    ADMIN_EMAIL: BENCH_ADMIN.email,
    ADMIN_PASSWORD: BENCH_ADMIN.password,
    // The limiters still count every request in Redis (their real cost); they never refuse the load.
    RATE_LIMIT_AGENT: String(1_000_000_000),
    RATE_LIMIT_GRAPHQL: String(1_000_000_000),
    LICENSE_PUBLIC_KEY: licensePair.publicKeyPem,
  });
  const app = await createApp(config);
  const { url } = await withTimeout(app.start('api'), 15_000);
  const { secret } = await app.auth.apiKeys.create({ name: 'ingest bench agent', nodeId: null }, systemActor('bench'));
  const now = new Date();
  const licenseKey = await issueLicense({ privateKeyPem: licensePair.privateKeyPem, customer: 'bench', plugins: PLUGINS, issuedAt: now, expiresAt: new Date(now.getTime() + 365 * 86_400_000) });
  await app.licenses.activate(licenseKey, 'cli', systemActor('bench'));

  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'statements') process.send!({ type: 'statements', count: statements });
  });
  process.send({ type: 'ready', url, apiKey: secret });
}

main().catch((err: unknown) => {
  process.stderr.write(`ingest bench server: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});

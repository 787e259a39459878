/**
 * The Opsgraph server of the ingest bench, run as a child process so it has a core to itself:
 *   node --import @oxc-node/core/register bench/ingest.server.ts <databaseUrl> <redisPrefix>
 * Opsgraph's real module list, role 'api'. Talks to the bench over IPC only:
 *   → { type: 'ready', url, apiKey }          once listening, with an agent API key bound to no node
 *   ← { type: 'statements' }  → { type: 'statements', count }   SQL statements sent so far
 * Exits on SIGTERM or when the IPC channel closes, so a killed bench leaves no server behind.
 */
import 'reflect-metadata';
import pg from 'pg';
import { createApp } from '../src/app.js';
import { withTimeout } from '../src/lib/timeout.js';
import { generateLicenseKeyPair, issueLicense, PLUGINS } from '../src/lib/license-keys.js';
import { benchServerConfig } from './server-config.js';
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

  const config = benchServerConfig(databaseUrl, prefix, {
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

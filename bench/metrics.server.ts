/**
 * The Opsgraph server of the metrics bench, in a child process of its own (role 'all': the API,
 * the rollup job and the collectors):
 *   node --import @oxc-node/core/register bench/metrics.server.ts <databaseUrl> <redisPrefix> <rawRetentionDays>
 *   → { type: 'ready', url, apiKey, token }      once listening: a metrics API key and an admin token
 *   ← { type: 'cpu' } → { type: 'cpu', userUs, systemUs, wallMs }   this process's CPU so far
 */
import 'reflect-metadata';
import { createApp } from '../src/app.js';
import { systemActor } from '../src/auth/actor.js';
import { withTimeout } from '../src/lib/timeout.js';
import { benchServerConfig } from './server-config.js';

async function main(): Promise<void> {
  const [databaseUrl, prefix, rawDays] = process.argv.slice(2);
  if (!databaseUrl || !prefix || !rawDays || !process.send) throw new Error('usage: metrics.server.ts <databaseUrl> <redisPrefix> <rawRetentionDays>, with an IPC channel');
  process.once('SIGTERM', () => process.exit(0));
  process.once('disconnect', () => process.exit(0));
  const config = benchServerConfig(databaseUrl, prefix, {
    METRICS_RETENTION_RAW_DAYS: rawDays,
    RATE_LIMIT_STANDARD: String(1_000_000_000),
    RATE_LIMIT_METRICS_QUERY: String(1_000_000_000),
  });
  const app = await createApp(config);
  const { url } = await withTimeout(app.start('all'), 30_000);
  const { secret } = await app.auth.apiKeys.create({ name: 'metrics bench exporter', nodeId: null, scopes: ['metrics'] }, systemActor('bench'));
  const started = performance.now();
  process.on('message', (m: { type?: string }) => {
    if (m?.type !== 'cpu') return;
    const cpu = process.cpuUsage();
    process.send!({ type: 'cpu', userUs: cpu.user, systemUs: cpu.system, wallMs: performance.now() - started });
  });
  process.send({ type: 'ready', url, apiKey: secret });
}

main().catch((err: unknown) => {
  process.stderr.write(`metrics bench server: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});

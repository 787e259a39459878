/**
 * `npm run bench -- <name>`: runs `bench/<name>.bench.ts`, prints its figures for people,
 * then exactly one JSON line `{"bench","figures","ratios"}` for machines (always the last line).
 * `BENCH_DURATION` sets the seconds per measurement (default 4), `BENCH_ROUNDS` how many times
 * each measurement is repeated (default 3; figures are medians across rounds).
 */
import type { Bench } from './harness.js';

// An explicit list rather than a path built from user input: only these files can be loaded.
const benches: Record<string, () => Promise<{ default: Bench }>> = {
  backups: () => import('./backups.bench.js'),
  http: () => import('./http.bench.js'),
  live: () => import('./live.bench.js'),
  ingest: () => import('./ingest.bench.js'),
  metrics: () => import('./metrics.bench.js'),
  sla: () => import('./sla.bench.js'),
  alerting: () => import('./alerting.bench.js'),
};

function usage(message: string): never {
  process.stderr.write(`${message}\navailable benches: ${Object.keys(benches).join(', ')}\nusage: npm run bench -- <name>   (BENCH_DURATION=<seconds per measurement>, default 4; BENCH_ROUNDS=<rounds>, default 3)\n`);
  process.exit(2);
}

function intFromEnv(name: string, fallback: number, max: number, unit: string): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) usage(`${name} must be a whole number of ${unit} from 1 to ${max}, got "${raw}"`);
  return n;
}

async function main(): Promise<void> {
  const name = process.argv[2];
  if (!name) usage('no bench named');
  if (!Object.hasOwn(benches, name)) usage(`unknown bench "${name}"`);
  const durationSec = intFromEnv('BENCH_DURATION', 4, 600, 'seconds');
  const rounds = intFromEnv('BENCH_ROUNDS', 3, 50, 'rounds');
  const bench = (await benches[name]!()).default;

  const budgetSec = bench.budgetSec(durationSec, rounds);
  console.log(`bench ${name}: ${bench.description}`);
  console.log(`${rounds} rounds, ${durationSec} s per measurement; aborts after ${budgetSec} s`);
  // A hung server or load generator must not hang CI; child processes exit when this one does.
  setTimeout(() => {
    process.stderr.write(`bench ${name}: exceeded its ${budgetSec} s budget, aborting\n`);
    process.exit(1);
  }, budgetSec * 1000).unref();

  const { figures, ratios } = await bench.run({ durationSec, rounds, log: (line) => console.log(line) });
  console.log(JSON.stringify({ bench: name, figures, ratios }));
}

main().then(
  // Open handles (sockets in teardown) must not keep a finished bench alive.
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);

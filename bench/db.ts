/**
 * Shared by the benches that run a real Opsgraph: a fresh, migrated PostgreSQL database and a
 * Redis prefix of their own, both removed at the end, and the Opsgraph server child
 * (bench/ingest.server.ts) with its SQL statement counter.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { extname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { applyMigrations, ensureDatabase, quoteIdent } from '../src/infra/migrations.js';
import { round, stopChild } from './harness.js';
import { BENCH_ADMIN } from './ingest.fleet.js';
import { closedLoop, type httpClient, type LoadResult } from './ingest.load.js';

export const PG_BASE = 'postgresql://postgres@127.0.0.1:5432';
export const REDIS_URL = 'redis://127.0.0.1:6379';
export const START_TIMEOUT_MS = 60_000;

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
// Same extension as this file, so the benches also run from a tsc build in dist/.
const serverEntry = fileURLToPath(new URL(`./ingest.server${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

export const databaseUrl = (name: string) => `${PG_BASE}/${name}`;

export interface Server {
  url: string;
  apiKey: string;
  /** SQL statements the server has sent so far. */
  statements(): Promise<number>;
  stop(): Promise<void>;
}

export async function startServer(dbUrl: string, prefix: string): Promise<Server> {
  // oxc-node, not tsx: type-graphql (imported by src/) needs the decorator metadata that esbuild drops.
  // The server's stdout is its log (warnings only): sent to stderr, so stdout stays the bench's report.
  // BENCH_SERVER_CPU_PROF=<dir>: a V8 CPU profile of the server, for when a goal is missed.
  const profile = process.env.BENCH_SERVER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', '@oxc-node/core/register', serverEntry, dbUrl, prefix], {
    cwd: repoRoot,
    // As deployed: graphql-js, for one, only drops its development-mode checks in production.
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 2, 'inherit', 'ipc'],
  });
  const stop = () => stopChild(child);
  try {
    const ready = await waitForMessage<{ type: 'ready'; url: string; apiKey: string }>(child, 'ready', START_TIMEOUT_MS);
    return {
      url: ready.url,
      apiKey: ready.apiKey,
      async statements() {
        const answer = waitForMessage<{ count: number }>(child, 'statements', 5_000);
        child.send({ type: 'statements' });
        return (await answer).count;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function waitForMessage<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (m: { type?: string }) => {
      if (m?.type !== type) return;
      cleanup();
      resolve(m as T);
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`bench server exited while the bench waited for "${type}" (code ${code}, signal ${signal})`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`bench server sent no "${type}" within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl('postgres'), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function deleteRedisKeys(pattern: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
      if (keys.length) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/**
 * Runs `fn` with a fresh, migrated database `opsgraph_bench_<random>` (its name is also the Redis
 * prefix); drops the database and deletes the prefix's Redis keys afterwards, whatever happens.
 */
export async function withBenchDatabase<T>(log: (line: string) => void, fn: (db: { name: string; url: string }) => Promise<T>): Promise<T> {
  const name = `opsgraph_bench_${randomBytes(4).toString('hex')}`;
  log(`database ${name} and Redis prefix ${name}, both removed at the end`);
  const url = databaseUrl(name);
  await ensureDatabase(url);
  try {
    const t0 = performance.now();
    const applied = await applyMigrations(url);
    log(`applied ${applied.length} migrations in ${round(performance.now() - t0, 1)} ms`);
    return await fn({ name, url });
  } finally {
    await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
    const keys = await deleteRedisKeys(`${name}:*`);
    log(`dropped ${name}; deleted ${keys} Redis keys`);
  }
}

/** Logs in as the bench admin (the server's first admin); the Authorization header for GraphQL. */
export async function loginAsBenchAdmin(http: ReturnType<typeof httpClient>): Promise<{ authorization: string }> {
  const login = await http.post(
    '/graphql',
    JSON.stringify({ query: 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', variables: { e: BENCH_ADMIN.email, p: BENCH_ADMIN.password } }),
  );
  const token = (JSON.parse(login.body) as { data?: { login?: { token?: string } } }).data?.login?.token;
  if (!token) throw new Error(`login as the bench admin failed: HTTP ${login.status} ${login.body.slice(0, 500)}`);
  return { authorization: `Bearer ${token}` };
}

/** A timed load, with the server's SQL statements per operation (every operation run, timed or not). */
export async function timedLoad(server: Server, concurrency: number, durationSec: number, op: () => Promise<void>): Promise<LoadResult & { statementsPerOp: number }> {
  const before = await server.statements();
  let ops = 0;
  const result = await closedLoop(concurrency, durationSec, () => {
    ops++;
    return op();
  });
  return { ...result, statementsPerOp: ((await server.statements()) - before) / ops };
}

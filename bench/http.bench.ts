/**
 * HTTP GraphQL throughput: bare node:http (the floor), stock Apollo 5 on Express 5 (the
 * reference) and Opsgraph's own stack, same schema and queries, one server under load at a
 * time, each in its own process so the load generator here does not share its core.
 * Measured in rounds with the servers' order rotated, because background load on a shared
 * machine moves single measurements by tens of percent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { deepStrictEqual } from 'node:assert/strict';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { median, round, stopChild, table, type Bench, type BenchContext, type BenchResult } from './harness.js';
import { EXPECTED, QUERIES, SERVER_KINDS, type QueryName, type ServerKind } from './http.schema.js';

const CONNECTIONS = 50;
const WARMUP_SEC = 2;
const SETTLE_MS = 250;
const START_TIMEOUT_MS = 30_000;
const QUERY_NAMES = Object.keys(QUERIES) as QueryName[];

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
// Same extension as this file, so the bench also runs from a tsc build in dist/.
const serverEntry = fileURLToPath(new URL(`./http.server${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

async function startServer(kind: ServerKind): Promise<RunningServer> {
  // oxc-node, not tsx: type-graphql (imported by src/) needs the decorator metadata that esbuild drops.
  const child = spawn(process.execPath, ['--import', '@oxc-node/core/register', serverEntry, kind], {
    cwd: repoRoot,
    // stdout carries `PORT <n>` and then Opsgraph's request log, which is read and dropped so the
    // pipe never fills; the IPC channel exists so the child dies with this process.
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const stop = () => stopChild(child);
  try {
    const port = await waitForPort(child, kind);
    return { url: `http://127.0.0.1:${port}/graphql`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function waitForPort(child: ChildProcess, kind: ServerKind): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    let port: number | undefined;
    const timer = setTimeout(() => reject(new Error(`${kind} server did not report its port within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (port !== undefined) return;
      seen += chunk.toString('utf8');
      const match = /^PORT (\d+)$/m.exec(seen);
      if (!match) return;
      port = Number(match[1]);
      clearTimeout(timer);
      resolve(port);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (port === undefined) reject(new Error(`${kind} server exited before listening (code ${code}, signal ${signal})`));
    });
  });
}

/** One real request per query first: a broken server must fail the bench, not be measured answering errors. */
async function verify(kind: ServerKind, url: string, query: QueryName): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: QUERIES[query] }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${kind} answered ${query} with HTTP ${res.status}: ${text.slice(0, 500)}`);
  try {
    deepStrictEqual(JSON.parse(text), EXPECTED[query]);
  } catch {
    throw new Error(`${kind} answered ${query} with an unexpected body: ${text.slice(0, 500)}`);
  }
}

async function load(kind: ServerKind, url: string, query: QueryName, durationSec: number): Promise<autocannon.Result> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: QUERIES[query] }),
    connections: CONNECTIONS,
    pipelining: 1,
    duration: durationSec,
  });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${kind} ${query}: ${result.non2xx} non-2xx responses (${JSON.stringify(result.statusCodeStats)}), ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  return result;
}

/** Starts all servers at once, since start-up is mostly module loading; any failure stops the rest. */
async function startAll(): Promise<Record<ServerKind, RunningServer>> {
  const settled = await Promise.allSettled(SERVER_KINDS.map(startServer));
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => s.stop()));
    throw failed.reason;
  }
  return Object.fromEntries(SERVER_KINDS.map((kind, i) => [kind, started[i]!])) as Record<ServerKind, RunningServer>;
}

/** Round r starts with the r-th server, so no server is always measured first or last. */
const rotate = <T>(items: readonly T[], r: number): T[] => items.map((_, i) => items[(i + r) % items.length]!);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Sample {
  rps: number;
  p99: number;
}

async function run({ durationSec, rounds, log }: BenchContext): Promise<BenchResult> {
  // samples[`${kind}.${query}`][round]
  const samples: Record<string, Sample[]> = {};
  const servers = await startAll();
  try {
    for (const kind of SERVER_KINDS) for (const query of QUERY_NAMES) await verify(kind, servers[kind].url, query);
    // Once per server and query: the servers keep running between rounds, so their JIT stays warm.
    log(`warm-up: ${WARMUP_SEC} s per server and query`);
    for (const query of QUERY_NAMES) for (const kind of SERVER_KINDS) await load(kind, servers[kind].url, query, WARMUP_SEC);

    for (let r = 0; r < rounds; r++) {
      for (const query of QUERY_NAMES) {
        const parts: string[] = [];
        for (const kind of rotate(SERVER_KINDS, r)) {
          // Lets the previous server finish its post-load work (log flushes, GC) before this one is timed.
          await sleep(SETTLE_MS);
          const result = await load(kind, servers[kind].url, query, durationSec);
          (samples[`${kind}.${query}`] ??= []).push({ rps: result.requests.average, p99: result.latency.p99 });
          parts.push(`${kind} ${round(result.requests.average, 0).toLocaleString('en-US')} req/s (p99 ${round(result.latency.p99, 2)} ms)`);
        }
        log(`  round ${r + 1}/${rounds} ${query}: ${parts.join(', ')}`);
      }
    }
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }

  const figures: Record<string, number> = {};
  const rows: (string | number)[][] = [['server', 'query', 'req/s', 'min–max', 'spread', 'p99 ms']];
  for (const kind of SERVER_KINDS) {
    for (const query of QUERY_NAMES) {
      const runs = samples[`${kind}.${query}`]!;
      const rps = runs.map((s) => s.rps);
      const key = `${kind}.${query}`;
      figures[`${key}.rps`] = round(median(rps), 0);
      figures[`${key}.rps_min`] = round(Math.min(...rps), 0);
      figures[`${key}.rps_max`] = round(Math.max(...rps), 0);
      figures[`${key}.p99_ms`] = round(median(runs.map((s) => s.p99)), 2);
      const spread = `${round((100 * (Math.max(...rps) - Math.min(...rps))) / median(rps), 0)}%`;
      rows.push([kind, query, figures[`${key}.rps`]!, `${figures[`${key}.rps_min`]!.toLocaleString('en-US')}–${figures[`${key}.rps_max`]!.toLocaleString('en-US')}`, spread, figures[`${key}.p99_ms`]!]);
    }
  }

  const pairs: [string, ServerKind, ServerKind][] = [
    ['opsgraph_vs_apollo', 'opsgraph', 'apollo'],
    ['opsgraph_vs_bare', 'opsgraph', 'bare'],
    ['apollo_vs_bare', 'apollo', 'bare'],
  ];
  const ratios: Record<string, number> = {};
  const ratioRows: string[][] = [['ratio', 'query', 'of medians', 'per-round median', 'per-round min–max']];
  for (const [name, a, b] of pairs) {
    for (const query of QUERY_NAMES) {
      const as = samples[`${a}.${query}`]!.map((s) => s.rps);
      const bs = samples[`${b}.${query}`]!.map((s) => s.rps);
      // Both servers of a round share that round's background load, so their ratio cancels most of it.
      const perRound = as.map((x, i) => x / bs[i]!);
      ratios[`${name}.${query}`] = round(median(perRound), 3);
      const ofMedians = median(as) / median(bs);
      ratioRows.push([name, query, ofMedians.toFixed(3), median(perRound).toFixed(3), `${Math.min(...perRound).toFixed(3)}–${Math.max(...perRound).toFixed(3)}`]);
    }
  }

  log('');
  log(
    `requests/s (mean of 1 s samples) and p99 latency, ${CONNECTIONS} connections, ${durationSec} s per measurement, ` +
      `${rounds} rounds in rotating server order; req/s and p99 are medians across rounds, spread is (max − min) / median:`,
  );
  for (const line of table(rows)) log(`  ${line}`);
  log('');
  log('throughput ratios (req/s of the first over the second): of the medians above, and the median of');
  log('per-round ratios (both servers measured in the same round); the JSON line reports the per-round median:');
  for (const line of table(ratioRows)) log(`  ${line}`);
  return { figures, ratios };
}

const bench: Bench = {
  description: 'GraphQL over HTTP: bare node:http vs stock Apollo 5 + Express 5 vs Opsgraph, trivial query and a 100-item list',
  // Parallel start-up, one warm-up per server and query, then the rounds; plus slack for slow start-ups.
  budgetSec: (d, rounds) => START_TIMEOUT_MS / 1000 + SERVER_KINDS.length * QUERY_NAMES.length * (WARMUP_SEC + 1 + rounds * (d + 1)) + 30,
  run,
};
export default bench;

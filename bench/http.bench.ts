/**
 * HTTP GraphQL throughput: bare node:http (the floor), stock Apollo 5 on Express 5 (the
 * reference) and Opsgraph's own stack, same schema and queries, one server at a time, each in
 * its own process so the load generator here does not share its core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { deepStrictEqual } from 'node:assert/strict';
import { once } from 'node:events';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { round, table, type Bench, type BenchContext, type BenchResult } from './harness.js';
import { EXPECTED, QUERIES, SERVER_KINDS, type QueryName, type ServerKind } from './http.schema.js';

const CONNECTIONS = 50;
const WARMUP_SEC = 2;
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
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
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

async function run({ durationSec, log }: BenchContext): Promise<BenchResult> {
  const figures: Record<string, number> = {};
  const rows: (string | number)[][] = [['server', 'query', 'req/s', 'p99 ms']];
  for (const kind of SERVER_KINDS) {
    const server = await startServer(kind);
    try {
      for (const query of QUERY_NAMES) await verify(kind, server.url, query);
      for (const query of QUERY_NAMES) {
        await load(kind, server.url, query, WARMUP_SEC);
        const result = await load(kind, server.url, query, durationSec);
        const rps = round(result.requests.average, 0);
        const p99 = round(result.latency.p99, 2);
        figures[`${kind}.${query}.rps`] = rps;
        figures[`${kind}.${query}.p99_ms`] = p99;
        rows.push([kind, query, rps, p99]);
        log(`  ${kind} ${query}: ${rps.toLocaleString('en-US')} req/s, p99 ${p99} ms`);
      }
    } finally {
      await server.stop();
    }
  }

  const ratios: Record<string, number> = {};
  const pairs: [string, ServerKind, ServerKind][] = [
    ['opsgraph_vs_apollo', 'opsgraph', 'apollo'],
    ['opsgraph_vs_bare', 'opsgraph', 'bare'],
    ['apollo_vs_bare', 'apollo', 'bare'],
  ];
  for (const [name, a, b] of pairs) {
    for (const query of QUERY_NAMES) ratios[`${name}.${query}`] = round(figures[`${a}.${query}.rps`]! / figures[`${b}.${query}.rps`]!, 3);
  }

  log('');
  log(`requests/s (mean of 1 s samples) and p99 latency, ${CONNECTIONS} connections, ${durationSec} s each after ${WARMUP_SEC} s warm-up:`);
  for (const line of table(rows)) log(`  ${line}`);
  log('');
  log('throughput ratios (req/s of the first over the second):');
  for (const line of table([['ratio', ...QUERY_NAMES], ...pairs.map(([name]) => [name, ...QUERY_NAMES.map((q) => ratios[`${name}.${q}`]!.toFixed(3))])])) {
    log(`  ${line}`);
  }
  return { figures, ratios };
}

const bench: Bench = {
  description: 'GraphQL over HTTP: bare node:http vs stock Apollo 5 + Express 5 vs Opsgraph, trivial query and a 100-item list',
  // Per server: start-up, one warm-up and one measurement per query; plus slack for slow start-ups.
  budgetSec: (d) => SERVER_KINDS.length * (20 + QUERY_NAMES.length * (WARMUP_SEC + d + 1)) + 30,
  run,
};
export default bench;

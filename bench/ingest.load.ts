/**
 * The ingest bench's load generator: a closed loop of N workers, each sending its next request
 * as soon as the previous answer is in, with a body built per request (autocannon's per-request
 * bodies would work too, but checking every answer is simpler here). node:http with a keep-alive
 * agent rather than fetch: undici's per-request overhead would eat into the core the
 * measurement needs.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface Answer {
  status: number;
  body: string;
}

export function httpClient(base: string, maxSockets: number) {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const url = new URL(base);
  return {
    post(path: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
      return new Promise((resolve, reject) => {
        const req = request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            path,
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

export interface LoadResult {
  /** Completed operations per second over the measured window. */
  rate: number;
  count: number;
  /** Milliseconds. */
  p50: number;
  p95: number;
  p99: number;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Runs `op` from `concurrency` workers for `durationSec`. An operation that throws fails the whole
 * run (a server answering errors must not be measured as fast). Only operations that start inside
 * the window are timed; the ones still in flight at its end are awaited but not counted.
 */
export async function closedLoop(concurrency: number, durationSec: number, op: () => Promise<void>): Promise<LoadResult> {
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + durationSec * 1_000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await op();
      const t1 = performance.now();
      if (t1 <= end) latencies.push(t1 - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const sorted = Float64Array.from(latencies).sort();
  return {
    rate: latencies.length / durationSec,
    count: latencies.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
  };
}

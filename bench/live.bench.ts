/**
 * Live fan-out on `/ws`: a real Opsgraph (its own process, database and Redis prefix) and
 * CLIENTS sockets subscribed to the `metrics` channel; another "instance" (this process) publishes
 * `metric:sampled` batches of SAMPLES_PER_EVENT samples on the deployment's Redis channel as fast
 * as it can. Measured side by side in each round: samples per second each socket received, and
 * samples per second a bare Redis subscriber of the same channel received (the bus's ceiling).
 * One more socket never reads during the round: how many pushes it is handed when it resumes
 * shows the bounded per-socket queue (at most WS_SEND_QUEUE_MAX waiting, plus what its kernel
 * and send buffers held).
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { loginAsBenchAdmin, REDIS_URL, START_TIMEOUT_MS, startServer, withBenchDatabase } from './db.js';
import { median, round, table, type Bench, type BenchContext, type BenchResult } from './harness.js';
import { httpClient } from './ingest.load.js';

const CLIENTS = 20;
const SAMPLES_PER_EVENT = 10;
/** Publishes in flight at once: enough to keep Redis busy without queueing the whole round in memory. */
const PIPELINE = 200;

function socket(url: string, token: string, onPush: () => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?token=${token}`);
    ws.on('message', (raw) => {
      const m = JSON.parse(raw.toString()) as { type: string };
      if (m.type === 'subscribed') resolve(ws);
      else if (m.type === 'metric') onPush();
      else if (m.type === 'error') reject(new Error(raw.toString()));
    });
    ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', channel: 'metrics' })));
    ws.once('error', reject);
  });
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  return withBenchDatabase(ctx.log, async (db) => {
    const server = await startServer(db.url, db.name);
    const publisher = new Redis(REDIS_URL);
    const bare = new Redis(REDIS_URL);
    const sockets: WebSocket[] = [];
    try {
      const token = (await loginAsBenchAdmin(httpClient(server.url, 4))).authorization.slice('Bearer '.length);
      const channel = `${db.name}:events`;
      let bareSamples = 0;
      await bare.subscribe(channel);
      bare.on('message', (_c, m: string) => {
        if (m.includes('"metric:sampled"')) bareSamples += SAMPLES_PER_EVENT;
      });
      const received = new Array<number>(CLIENTS).fill(0);
      for (let i = 0; i < CLIENTS; i++) sockets.push(await socket(server.url, token, () => received[i]!++));
      let slowReceived = 0;
      const slow = await socket(server.url, token, () => slowReceived++);
      sockets.push(slow);

      const event = JSON.stringify({
        type: 'metric:sampled',
        payload: { samples: Array.from({ length: SAMPLES_PER_EVENT }, (_, i) => ({ name: `bench.metric.${i}`, value: i, timestamp: new Date().toISOString(), labels: { host: 'bench' }, collector: 'custom' })) },
        timestamp: new Date().toISOString(),
      });
      const perSocket: number[] = [];
      const perBare: number[] = [];
      const slowGot: number[] = [];
      let published = 0;
      for (let r = 0; r < ctx.rounds; r++) {
        received.fill(0);
        bareSamples = 0;
        slowReceived = 0;
        (slow as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
        const t0 = performance.now();
        const end = t0 + ctx.durationSec * 1_000;
        let sent = 0;
        while (performance.now() < end) {
          await Promise.all(Array.from({ length: PIPELINE }, () => publisher.publish(channel, event)));
          sent += PIPELINE;
        }
        const seconds = (performance.now() - t0) / 1_000;
        published += sent;
        // Rates over the publishing time: what arrives later is backlog, not throughput.
        perSocket.push(median(received) / seconds);
        perBare.push(bareSamples / seconds);
        (slow as unknown as { _socket: { resume(): void } })._socket.resume();
        // Let the resumed reader drain what the server kept for it.
        const settle = performance.now() + 2_000;
        let last = -1;
        while (performance.now() < settle && slowReceived !== last) {
          last = slowReceived;
          await new Promise((r) => setTimeout(r, 200));
        }
        slowGot.push(slowReceived);
        ctx.log(`round ${r + 1}: ${sent * SAMPLES_PER_EVENT} samples published in ${round(seconds, 1)} s; the paused socket got ${slowReceived} on resuming`);
      }
      const socketRate = median(perSocket);
      const bareRate = median(perBare);
      for (const line of table([
        ['receiver', 'samples/s'],
        [`one of ${CLIENTS} /ws sockets (median)`, Math.round(socketRate)],
        ['bare Redis subscriber', Math.round(bareRate)],
      ]))
        ctx.log(line);
      ctx.log(`published ${published} events in all`);
      return {
        figures: {
          'ws.samples_per_second_per_socket': Math.round(socketRate),
          'ws.samples_per_second_all_sockets': Math.round(socketRate * CLIENTS),
          'redis.samples_per_second': Math.round(bareRate),
          'ws.paused_socket_pushes_on_resume': median(slowGot),
        },
        ratios: { ws_socket_vs_bare_redis: round(socketRate / bareRate, 3) },
      };
    } finally {
      for (const s of sockets) s.terminate();
      publisher.disconnect();
      bare.disconnect();
      await server.stop();
    }
  });
}

const bench: Bench = {
  description: `live fan-out: metric samples published on the bus, as received by ${CLIENTS} /ws sockets against a bare Redis subscriber; a paused socket's bounded queue`,
  budgetSec: (durationSec, rounds) => Math.ceil(START_TIMEOUT_MS / 1_000) + 60 + rounds * (durationSec + 5),
  run,
};
export default bench;

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestEnv, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';

/** The collectors on the real clock: real readings that change, and settings changed at run time without a restart. */
let env: TestEnv;
let api: TestApp;
let admin: Record<string, string>;

interface Collector {
  name: string;
  enabled: boolean;
  interval: number;
  collectionCount: number;
  errorCount: number;
  lastCollection: string | null;
}
const get = async <T>(path: string): Promise<T> => ((await (await fetch(`${api.url}/api/v1${path}`, { headers: admin })).json()) as { data: T }).data;
const collectors = () => get<Collector[]>('/metrics/collectors');
const collector = async (name: string) => (await collectors()).find((c) => c.name === name)!;
const patch = (name: string, body: unknown) => fetch(`${api.url}/api/v1/metrics/collectors/${name}`, { method: 'PATCH', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const values = async (name: string, labels?: string) =>
  (await get<{ dataPoints: { value: number }[] }>(`/metrics/${name}?start=-10m&granularity=raw&aggregation=sum${labels ? `&labels=${labels}` : ''}`)).dataPoints.map((p) => p.value);

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'all', overrides: { RATE_LIMIT_STANDARD: '100000', RATE_LIMIT_METRICS_QUERY: '100000' } });
  admin = bearer(await tokenFor(api, 'ADMIN'));
  for (const c of ['system', 'process', 'postgres', 'redis', 'queues', 'api']) expect((await patch(c, { interval: 1 })).status).toBe(200);
});
afterAll(() => env.cleanup());

describe('collectors', () => {
  it('every collector collects real readings that change', async () => {
    const changing = ['system.cpu.usage', 'process.heap.used', 'postgres.transactions.rate', 'redis.memory.used'];
    await waitFor(async () => {
      for (const name of changing) if (new Set(await values(name)).size < 2) return false;
      return true;
    }, 20_000, 250);
    const snapshot = await get<{ metrics: { name: string; value: number; labels: Record<string, string> }[] }>('/metrics/snapshot');
    const of = (n: string) => snapshot.metrics.filter((m) => m.name === n);
    expect(of('system.memory.usage')[0]!.value).toBeGreaterThan(0);
    expect(of('system.memory.usage')[0]!.value).toBeLessThan(100);
    expect(of('system.uptime')[0]!.value).toBeGreaterThan(0);
    expect(of('system.disk.usage')[0]!.value).toBeGreaterThan(0);
    expect(of('process.memory.rss')[0]!.labels).toEqual({ instance: api.app.runtime.instanceId, role: 'all' });
    expect(of('postgres.database.size')[0]!.value).toBeGreaterThan(1_000_000);
    expect(of('redis.clients')[0]!.value).toBeGreaterThan(0);
    expect(of('queue.jobs.delayed').map((m) => m.labels.queue)).toContain('metrics');
    // The api collector counts exactly the requests this process answered, per route template.
    const route = 'labels=route:/api/v1/metrics/stats';
    for (let i = 0; i < 3; i++) await get('/metrics/stats');
    await waitFor(async () => (await values('api.requests.total', route.slice(7))).reduce((a, v) => a + v, 0) === 3, 10_000, 200);
    for (const c of await collectors()) expect([c.name, c.errorCount, c.collectionCount > 0]).toEqual([c.name, 0, true]);
  });

  it('a collector disabled, re-enabled and re-timed at run time, without a restart', async () => {
    // A scheduled collector (system) and an in-process one (process), side by side.
    await Promise.all(['system', 'process'].map(async (name) => {
      expect(await (await patch(name, { enabled: false })).json()).toMatchObject({ data: { name, enabled: false, interval: 1 } });
      // In force within one old interval: after it, the count stays still.
      await new Promise((r) => setTimeout(r, 1_500));
      const stopped = (await collector(name)).collectionCount;
      await new Promise((r) => setTimeout(r, 2_500));
      expect([name, (await collector(name)).collectionCount]).toEqual([name, stopped]);
      expect((await patch(name, { enabled: true, interval: 2 })).status).toBe(200);
      await waitFor(async () => (await collector(name)).collectionCount >= stopped + 2, 10_000, 200);
      expect(await collector(name)).toMatchObject({ enabled: true, interval: 2 });
    }));
    const refused = await patch('system', { interval: 0 });
    expect(refused.status).toBe(400);
    expect((await patch('nope', { enabled: true })).status).toBe(404);
  });
});

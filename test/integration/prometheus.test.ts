import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { agent, newAgentKey } from '../support/agent.js';
import { bearer, createTestEnv, tokenFor, type TestApp, type TestEnv } from '../support/harness.js';

let env: TestEnv;
let api: TestApp;
const TOKEN = 'scrape-token-0123456789abcdef';

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'api', overrides: { RATE_LIMIT_STANDARD: '100000' } });
});
afterAll(() => env.cleanup());

async function scrape(app: TestApp, headers: Record<string, string> = {}) {
  const res = await fetch(`${app.url}/metrics`, { headers });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

/** The samples of one family, each line as `{ labels, value }`: read from the text itself, since the parser merges a histogram's labelled series. */
function lines(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

describe('GET /metrics', () => {
  it('is Prometheus text with the process metrics, the HTTP histogram of a route just hit, the queues and the fleet', async () => {
    const key = await newAgentKey(api);
    const report = await agent(api, key).status({
      nodeId: 'prom/node-1',
      services: [
        { name: 'web', status: 'OPERATIONAL' },
        { name: 'worker', status: 'OPERATIONAL' },
        { name: 'db', status: 'MAJOR_OUTAGE' },
      ],
    });
    expect(report.status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await fetch(`${api.url}/readyz`)).status).toBe(200);

    const { status, type, text } = await scrape(api);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));

    // Node's default process metrics.
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(families.has(name), name).toBe(true);
    }

    expect(families.get('opsgraph_http_request_duration_seconds')?.type).toBe('HISTOGRAM');
    const readyz = lines(text, 'opsgraph_http_request_duration_seconds_count').find((l) => l.labels.route === '/readyz' && l.labels.method === 'GET' && l.labels.status === '200');
    expect(readyz?.value).toBe(3);
    const report200 = lines(text, 'opsgraph_http_request_duration_seconds_count').find((l) => l.labels.route === '/api/v1/operator/status' && l.labels.method === 'POST');
    expect(report200).toMatchObject({ labels: { status: '200' }, value: 1 });
    // Raw URLs never become labels: an unknown path is one "unmatched" route.
    await fetch(`${api.url}/no/such/path/${Math.random()}`);
    const after = await scrape(api);
    expect(lines(after.text, 'opsgraph_http_request_duration_seconds_count').filter((l) => l.labels.route.startsWith('/no/'))).toEqual([]);
    expect(lines(after.text, 'opsgraph_http_request_duration_seconds_count').find((l) => l.labels.route === 'unmatched')?.labels.status).toBe('404');

    expect(families.get('opsgraph_queue_jobs')?.type).toBe('GAUGE');
    const queues = lines(text, 'opsgraph_queue_jobs');
    for (const queue of api.app.jobs.queues.keys()) {
      expect(queues.filter((q) => q.labels.queue === queue).map((q) => q.labels.state).sort()).toEqual(['active', 'delayed', 'failed', 'prioritized', 'waiting']);
    }

    const services = Object.fromEntries(lines(text, 'opsgraph_services').map((l) => [l.labels.status, l.value]));
    expect(services).toEqual({ OPERATIONAL: 2, DEGRADED: 0, PARTIAL_OUTAGE: 0, MAJOR_OUTAGE: 1, MAINTENANCE: 0, UNKNOWN: 0 });
    expect(lines(text, 'opsgraph_incidents_open')).toEqual([{ labels: {}, value: 1 }]);
    expect(lines(text, 'opsgraph_open_connections').find((l) => l.labels.kind === 'http')?.value).toBeGreaterThanOrEqual(1);
    expect(lines(text, 'opsgraph_instance_info')).toEqual([{ labels: { instance: api.app.runtime.instanceId, role: 'api' }, value: 1 }]);

    // The fleet moves and the gauges follow at the next scrape.
    await agent(api, key).status({ nodeId: 'prom/node-1', services: [{ name: 'db', status: 'OPERATIONAL' }] });
    const healed = await scrape(api);
    expect(Object.fromEntries(lines(healed.text, 'opsgraph_services').map((l) => [l.labels.status, l.value]))).toMatchObject({ OPERATIONAL: 3, MAJOR_OUTAGE: 0 });
    expect(lines(healed.text, 'opsgraph_incidents_open')[0]?.value).toBe(0);

    // A manual alert fires at once: counted by severity and source at the next scrape.
    const operator = bearer(await tokenFor(api, 'OPERATOR'));
    const raised = await fetch(`${api.url}/api/v1/alerts`, { method: 'POST', headers: { ...operator, 'content-type': 'application/json' }, body: JSON.stringify({ severity: 'high', title: 'disk almost full', message: 'raised by hand' }) });
    expect(raised.status).toBe(201);
    const alerting = await scrape(api);
    expect(parsePrometheusTextFormat(alerting.text).find((f) => f.name === 'opsgraph_alerts_firing')?.type).toBe('GAUGE');
    expect(lines(alerting.text, 'opsgraph_alerts_firing').filter((l) => l.labels.source === 'MANUAL')).toEqual([{ labels: { severity: 'high', source: 'MANUAL' }, value: 1 }]);
  });

  it('requires Authorization: Bearer <METRICS_TOKEN> when one is set', async () => {
    const guarded = await env.startApp({ role: 'api', overrides: { METRICS_TOKEN: TOKEN } });
    const none = await scrape(guarded);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.text)).toMatchObject({ success: false, error: { code: 'ERR_1003' } });
    expect((await scrape(guarded, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await scrape(guarded, { authorization: TOKEN })).status).toBe(401);
    const ok = await scrape(guarded, { authorization: `bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(() => parsePrometheusTextFormat(ok.text)).not.toThrow();
    // Without a token the exposition is open.
    expect((await scrape(api)).status).toBe(200);
  });
});

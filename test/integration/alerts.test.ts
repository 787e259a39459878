import { createHmac } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { HEALTH_CHANGED } from '../../src/modules/health/health.events.js';
import { bearer, createTestEnv, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';
import { webhookReceiver } from '../support/receiver.js';

let env: TestEnv;
let api: TestApp;
let admin: Record<string, string>;

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'all', overrides: { NOTIFY_MAX_ATTEMPTS: '4', NOTIFY_BACKOFF_MS: '20', NOTIFY_TIMEOUT_MS: '500', RATE_LIMIT_STANDARD: '100000' } });
  admin = { ...bearer(await tokenFor(api, 'ADMIN')), 'content-type': 'application/json' };
});
afterAll(() => env.cleanup());

const call = async (method: string, path: string, body?: unknown, headers = admin) => {
  const res = await fetch(`${api.url}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
};

const rule = { name: 'High CPU', metric: 'system.cpu.usage', condition: { operator: '>', threshold: 80, duration: 300 }, severity: 'high', channels: ['console', 'file'] };

describe('alert rules', () => {
  it('are created, read, listed, changed and deleted in the seed envelope; a metric without samples reports noData', async () => {
    const created = await call('POST', '/alerts/rules', { ...rule, metadata: { team: 'ops' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ success: true, data: { name: 'High CPU', enabled: true, condition: rule.condition, channels: ['console', 'file'], noData: true }, metadata: { version: '3.0.0' } });
    const id = created.body!.data.id as string;
    expect((await call('GET', `/alerts/rules/${id}`)).body!.data).toMatchObject({ id, stats: { totalAlerts: 0, lastFired: null } });
    const list = await call('GET', '/alerts/rules?status=enabled&severity=high');
    expect(list.body).toMatchObject({ data: [{ id }], pagination: { page: 1, limit: 20, total: 1 } });
    expect((await call('PATCH', `/alerts/rules/${id}`, { enabled: false, condition: { threshold: 90, duration: 600 } })).body!.data).toMatchObject({ id, updated: true });
    expect((await call('GET', `/alerts/rules/${id}`)).body!.data).toMatchObject({ enabled: false, condition: { operator: '>', threshold: 90, duration: 600 } });
    expect((await call('DELETE', `/alerts/rules/${id}`)).status).toBe(204);
    expect((await call('GET', `/alerts/rules/${id}`)).status).toBe(404);
  });

  it('refuses an unknown operator, a negative duration and an unknown channel with 400 naming the field', async () => {
    const bad = async (body: unknown) => (await call('POST', '/alerts/rules', body)).body!.error;
    expect(await bad({ ...rule, name: 'a', condition: { operator: '=>', threshold: 1 } })).toMatchObject({ code: 'ERR_1001', details: { field: 'condition.operator' } });
    expect(await bad({ ...rule, name: 'b', condition: { operator: '>', threshold: 1, duration: -5 } })).toMatchObject({ code: 'ERR_1001', details: { field: 'condition.duration' } });
    expect(await bad({ ...rule, name: 'c', channels: ['consol'] })).toMatchObject({ code: 'ERR_1001', details: { field: 'channels' } });
    expect((await bad({ ...rule, name: 'c', channels: ['consol'] })).message).toMatch(/did you mean console/);
    expect(await bad({ ...rule, name: 'd', recoveryThreshold: 95 })).toMatchObject({ code: 'ERR_5001', details: { field: 'recoveryThreshold' } });
    const viewer = { ...bearer(await tokenFor(api, 'VIEWER')), 'content-type': 'application/json' };
    expect((await call('POST', '/alerts/rules', rule, viewer)).status).toBe(403);
  });
});

describe('webhook notifications', () => {
  it('a receiver failing the first 3 deliveries gets the notification once more, with one Idempotency-Key and a valid signature; every attempt is stored', async () => {
    const receiver = await webhookReceiver((n) => (n <= 3 ? 503 : 200));
    try {
      const channel = await call('POST', '/alerts/channels', { name: 'pager', type: 'webhook', config: { url: receiver.url, secret: 'a-shared-secret' } });
      expect(channel.status).toBe(201);
      expect(channel.body!.data).toMatchObject({ type: 'webhook', hasSecret: true });
      expect(JSON.stringify(channel.body)).not.toContain('a-shared-secret');
      expect((await call('PATCH', '/alerts/config', { defaultChannels: ['pager'], aggregation: { enabled: false } })).status).toBe(200);

      const created = await call('POST', '/alerts', { severity: 'warning', title: 'Disk filling', message: 'disk at 91 %' });
      expect(created.status).toBe(201);
      const alertId = created.body!.alert_id as string;
      await receiver.received(4);
      const keys = new Set(receiver.requests.map((r) => r.headers['idempotency-key']));
      expect(keys.size).toBe(1);
      for (const r of receiver.requests) {
        expect(r.headers['x-opsgraph-signature']).toBe(`sha256=${createHmac('sha256', 'a-shared-secret').update(r.body).digest('hex')}`);
        expect(r.body).toBe(receiver.requests[0]!.body);
      }
      const body = JSON.parse(receiver.requests[0]!.body);
      expect(body).toMatchObject({ version: '1', status: 'firing', alerts: [{ id: alertId, severity: 'medium', status: 'firing', source: 'MANUAL', message: 'disk at 91 %' }] });
      const attempts = await waitFor(async () => {
        const r = await call('GET', `/alerts/${alertId}/notifications`);
        return r.body!.data.length === 4 ? r.body!.data : null;
      });
      expect(attempts.map((a: any) => [a.status, a.responseCode, a.attempt])).toEqual([
        ['failed', 503, 1],
        ['failed', 503, 2],
        ['failed', 503, 3],
        ['delivered', 200, 4],
      ]);
    } finally {
      await receiver.close();
    }
  });

  it('a receiver down longer than the retry budget leaves a visible failed delivery', async () => {
    const receiver = await webhookReceiver(() => 500);
    try {
      const channel = await call('POST', '/alerts/channels', { name: 'broken', type: 'webhook', config: { url: receiver.url } });
      await call('PATCH', '/alerts/config', { defaultChannels: ['broken'] });
      const alertId = (await call('POST', '/alerts', { severity: 'critical', title: 'Down' })).body!.alert_id as string;
      await receiver.received(4);
      const attempts = await waitFor(async () => {
        const r = (await call('GET', `/alerts/${alertId}/notifications`)).body!.data as any[];
        return r.length === 4 && r.every((a) => a.status === 'failed') ? r : null;
      });
      expect(attempts.at(-1)).toMatchObject({ channel: 'broken', status: 'failed', responseCode: 500, attempt: 4 });
      const stored = await api.app.db.pool.query(`SELECT status FROM "Notification" WHERE "channelId" = $1`, [channel.body!.data.id]);
      expect(stored.rows).toEqual([{ status: 'FAILED' }]);
      const tested = await call('POST', `/alerts/channels/${channel.body!.data.id}/test`);
      expect(tested.body!.data).toMatchObject({ delivered: false, status: 'failed', responseCode: 500 });
    } finally {
      await receiver.close();
    }
  });
});

describe('webhook delivery limits', () => {
  /** A receiver answering every request with `respond`. */
  async function server(respond: (res: ServerResponse) => void) {
    const s = createServer((req, res) => {
      req.resume();
      req.on('end', () => respond(res));
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/`, close: () => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r()))) };
  }
  const test = async (name: string, url: string) => {
    const c = await call('POST', '/alerts/channels', { name, type: 'webhook', config: { url } });
    return (await call('POST', `/alerts/channels/${c.body!.data.id}/test`)).body!.data;
  };

  it('follows no redirect, reads at most 64 KiB of an answer, and gives up at the timeout', async () => {
    const redirect = await server((res) => res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end());
    const huge = await server((res) => res.writeHead(200).end('x'.repeat(5 * 1024 * 1024)));
    const silent = await server(() => undefined);
    try {
      expect(await test('redirecting', redirect.url)).toMatchObject({ delivered: false, responseCode: 302, error: expect.stringMatching(/redirect .* not followed/) });
      expect(await test('chatty', huge.url)).toMatchObject({ delivered: true, responseCode: 200 });
      const slow = await test('silent', silent.url);
      expect(slow).toMatchObject({ delivered: false, responseCode: null, error: 'timed out after 500 ms' });
      expect(slow.durationMs).toBeLessThan(5_000);
    } finally {
      await Promise.all([redirect.close(), huge.close(), silent.close()]);
    }
  });
});

describe('lifecycle', () => {
  it('acknowledge, resolve with notes (seed 004 PATCH), and the audit log', async () => {
    await call('PATCH', '/alerts/config', { defaultChannels: ['console'] });
    const alertId = (await call('POST', '/alerts', { severity: 'info', title: 'FYI' })).body!.alert_id as string;
    const ack = await call('POST', `/alerts/${alertId}/acknowledge`, { note: 'looking' });
    expect(ack.body!.data).toMatchObject({ status: 'FIRING', acknowledgeNote: 'looking' });
    expect(ack.body!.data.acknowledgedAt).toBeTruthy();
    const resolved = await call('PATCH', `/alerts/${alertId}`, { status: 'resolved', resolved_by: 'usr_123', resolution_notes: 'fixed' });
    expect(resolved.body).toMatchObject({ success: true, alert: { alert_id: alertId, status: 'resolved', resolved_by: 'usr_123', resolution_notes: 'fixed' } });
    // The state changed: the acknowledgement is cleared.
    const list = await call('GET', '/alerts?status=resolved');
    expect(list.body!.alerts.find((a: any) => a.alert_id === alertId)).toBeTruthy();
    const history = await call('GET', '/alerts/history?status=resolved&since=1h');
    expect(history.body!.data.find((a: any) => a.id === alertId)).toMatchObject({ status: 'resolved', acknowledgedAt: null, resolvedBy: 'usr_123' });
    expect((await call('POST', `/alerts/${alertId}/resolve`, { note: 'again' })).status).toBe(409);
    const audit = await api.app.db.pool.query(`SELECT action FROM "AuditEntry" WHERE "resourceId" = $1 ORDER BY seq`, [alertId]);
    expect(audit.rows.map((r) => r.action)).toEqual(['alert.create', 'alert.acknowledge', 'alert.resolve']);
  });
});

describe('other sources', () => {
  it('health:changed (through the outbox) fires a HEALTH alert while a system is unhealthy and resolves it when healthy again', async () => {
    const change = async (status: 'unhealthy' | 'healthy', previousStatus: 'healthy' | 'unhealthy') => {
      await api.app.outbox.add(api.app.db.pool, HEALTH_CHANGED, { system: 'network', previousStatus, status, message: `network is ${status}`, details: {}, checkId: randomUUID(), at: new Date() });
      api.app.outbox.nudge();
    };
    const open = async () => (await api.app.db.pool.query(`SELECT state, severity FROM "Alert" WHERE source = 'HEALTH' AND labels->>'system' = 'network' ORDER BY "createdAt"`)).rows;
    await change('unhealthy', 'healthy');
    expect(await waitFor(async () => ((await open()).length ? await open() : null))).toEqual([{ state: 'FIRING', severity: 'high' }]);
    await change('healthy', 'unhealthy');
    expect(await waitFor(async () => ((await open())[0]?.state === 'RESOLVED' ? await open() : null))).toEqual([{ state: 'RESOLVED', severity: 'high' }]);
  });
});

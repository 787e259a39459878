import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { METRIC_SAMPLED } from '../../src/modules/metrics/metrics.events.js';
import { SLA_ALERT } from '../../src/modules/sla/sla.events.js';
import { TICKET_CREATED } from '../../src/modules/tickets/tickets.events.js';
import { MetricUpdatedDocument } from '../generated/graphql.js';
import { createTestEnv, listen, probeOf, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';

let env: TestEnv;
let a: TestApp;
let b: TestApp;
let token: string;
const sockets: LiveSocket[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  // Two API instances on one PostgreSQL and one Redis, as behind a load balancer.
  [a, b] = await Promise.all([env.startApp({ role: 'api' }), env.startApp({ role: 'api' })]);
  token = await tokenFor(b, 'VIEWER');
});
afterAll(async () => {
  for (const s of sockets) s.ws.terminate();
  await env.cleanup();
});

type Message = { type: string; [key: string]: unknown };

/** A plain /ws client that keeps every message it receives, in order. */
class LiveSocket {
  readonly messages: Message[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string; at: number }>;
  private waiters = new Set<() => void>();

  constructor(
    readonly ws: WebSocket,
    readonly openedAt = Date.now(),
  ) {
    sockets.push(this);
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
      ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() })));
    ws.on('message', (raw) => {
      this.messages.push(JSON.parse(raw.toString()) as Message);
      for (const wake of [...this.waiters]) wake();
    });
  }

  static async open(api: TestApp, query = ''): Promise<LiveSocket> {
    const s = new LiveSocket(new WebSocket(`${api.url.replace(/^http/, 'ws')}/ws${query}`));
    await s.opened;
    return s;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolves with the first message from `from` on that matches, once it has arrived. */
  next(match: (m: Message) => boolean, from = 0, timeoutMs = 5_000): Promise<Message> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.messages.slice(from).find(match);
        if (!found) return false;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(from))}`));
      }, timeoutMs);
      if (!check()) this.waiters.add(check);
    });
  }

  /** Sends and resolves with the first answer of `type` after it. */
  async ask(message: unknown, type: string): Promise<Message> {
    const from = this.messages.length;
    this.send(message);
    return this.next((m) => m.type === type, from);
  }
}

const sample = (name: string, collector: string, value = 1) => ({ name, value, timestamp: new Date('2026-02-07T14:05:30.123Z'), labels: { host: 'web-1' }, collector });
const metricNamed = (name: string) => (m: Message) => m.type === 'metric' && (m.data as { name: string }).name === name;

let idle: LiveSocket;

describe('/ws authentication', () => {
  it('closes a socket that never authenticates with 4401 after 5 s (checked at the end of the file)', async () => {
    // Opened first, so the other tests run while its 5 s pass.
    idle = await LiveSocket.open(b);
  });

  it('refuses a bad token in the URL with 4401 and records it in the security log', async () => {
    const s = await LiveSocket.open(b, '?token=not-a-jwt');
    const closed = await s.closed;
    expect(closed).toMatchObject({ code: 4401, reason: 'bad token' });
    await waitFor(async () => {
      const events = await b.app.db.prisma.securityEvent.findMany({ where: { type: 'ws_rejected' } });
      return events.some((e) => (e.details as { path?: string }).path === '/ws');
    });
  });

  it('refuses a bad token in the auth message with 4401', async () => {
    const s = await LiveSocket.open(b);
    s.send({ type: 'auth', token: `${token}x` });
    expect(await s.closed).toMatchObject({ code: 4401, reason: 'bad token' });
  });

  it('refuses a first message that is not auth with 4401', async () => {
    const s = await LiveSocket.open(b);
    s.send({ type: 'subscribe', channel: 'metrics' });
    expect((await s.closed).code).toBe(4401);
  });

  it('answers an upgrade to a path nobody serves with 404', async () => {
    const nowhere = new LiveSocket(new WebSocket(`${b.url.replace(/^http/, 'ws')}/nowhere`));
    await expect(nowhere.opened).rejects.toThrow(/404/);
  });
});

describe('a sample accepted on one instance reaches the other', () => {
  it('reaches a /ws client (seed 000: ?token= and channel + filters) and a metricUpdated subscriber on B within 1 s, filtered on the server', async () => {
    const s = await LiveSocket.open(b, `?token=${token}`);
    const subscribed = await s.ask({ type: 'subscribe', channel: 'metrics', filters: { collectors: ['custom'], names: ['app.*'] } }, 'subscribed');
    expect(subscribed).toEqual({ type: 'subscribed', channels: ['metrics'] });
    const gql = await listen(b, { authorization: `Bearer ${token}` }, MetricUpdatedDocument, probeOf.metricUpdated(a), {
      variables: { collectors: ['custom'] },
      pick: (d) => d.metricUpdated,
    });
    try {
      const from = s.messages.length;
      const sentAt = Date.now();
      await a.app.events.publish(METRIC_SAMPLED, { samples: [sample('system.cpu.usage', 'system', 42), sample('app.latency', 'custom', 12.5), sample('db.latency', 'custom', 3)] });
      const pushed = await s.next(metricNamed('app.latency'), from);
      await waitFor(() => gql.received.some((m) => m.name === 'app.latency'), 1_000, 5);
      expect(Date.now() - sentAt).toBeLessThan(1_000);
      expect(pushed).toEqual({ type: 'metric', data: { name: 'app.latency', value: 12.5, timestamp: '2026-02-07T14:05:30.123Z', labels: { host: 'web-1' }, collector: 'custom' } });

      // Everything published before has arrived once a later sample has (the bus keeps order).
      await a.app.events.publish(METRIC_SAMPLED, { samples: [sample('app.sentinel', 'custom')] });
      await s.next(metricNamed('app.sentinel'), from);
      await gql.sync();
      const wsNames = s.messages.slice(from).map((m) => (m.data as { name: string }).name);
      expect(wsNames).toEqual(['app.latency', 'app.sentinel']);
      expect(gql.received.map((m) => m.name)).toEqual(['app.latency', 'db.latency', 'app.sentinel']);
      expect(gql.received[0]).toEqual({ name: 'app.latency', value: 12.5, timestamp: '2026-02-07T14:05:30.123Z', labels: { host: 'web-1' }, collector: 'custom' });
    } finally {
      await gql.dispose();
    }
  });

  it('carries a sample posted to the metrics API of A to a /ws client and a metricUpdated subscriber on B within 1 s', async () => {
    const s = await LiveSocket.open(b, `?token=${token}`);
    await s.ask({ type: 'subscribe', channel: 'metrics', filters: { names: ['app.posted'] } }, 'subscribed');
    const gql = await listen(b, { authorization: `Bearer ${token}` }, MetricUpdatedDocument, probeOf.metricUpdated(a), {
      variables: { collectors: ['custom'] },
      pick: (d) => d.metricUpdated,
    });
    try {
      const from = s.messages.length;
      const operator = await tokenFor(a, 'OPERATOR');
      const timestamp = new Date().toISOString();
      const sentAt = Date.now();
      const res = await fetch(`${a.url}/api/v1/metrics`, {
        method: 'POST',
        headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'app.posted', value: 7.25, timestamp, tags: { env: 'prod' } }),
      });
      expect(res.status).toBe(201);
      const pushed = await s.next(metricNamed('app.posted'), from);
      await waitFor(() => gql.received.some((m) => m.name === 'app.posted'), 1_000, 5);
      expect(Date.now() - sentAt).toBeLessThan(1_000);
      expect(pushed).toEqual({ type: 'metric', data: { name: 'app.posted', value: 7.25, timestamp, labels: { env: 'prod' }, collector: 'custom' } });
      expect(gql.received.find((m) => m.name === 'app.posted')).toEqual({ name: 'app.posted', value: 7.25, timestamp, labels: { env: 'prod' }, collector: 'custom' });
    } finally {
      await gql.dispose();
    }
  });

  it('speaks seed 004: the auth message, a channels list, events and alerts, ping, unsubscribe', async () => {
    const s = await LiveSocket.open(b);
    expect(await s.ask({ type: 'auth', token }, 'authenticated')).toMatchObject({ type: 'authenticated' });
    expect(await s.ask({ type: 'subscribe', channels: ['metrics', 'events', 'alerts', 'health'] }, 'subscribed')).toEqual({
      type: 'subscribed',
      channels: ['metrics', 'events', 'alerts', 'health'],
    });
    const from = s.messages.length;
    const alert = { scope: 'SERVICE' as const, serviceId: null, slaGroupId: null, status: 'BREACHED', message: 'budget spent', at: new Date('2026-02-07T14:00:00.000Z') };
    await a.app.events.publish(SLA_ALERT, alert);
    const event = await s.next((m) => m.type === 'event', from);
    expect(event.data).toMatchObject({ type: 'sla:alert', payload: { ...alert, at: '2026-02-07T14:00:00.000Z' } });
    const pushedAlert = await s.next((m) => m.type === 'alert', from);
    expect(pushedAlert.data).toEqual({ ...alert, at: '2026-02-07T14:00:00.000Z' });
    expect(await s.ask({ type: 'ping' }, 'pong')).toMatchObject({ type: 'pong' });

    expect(await s.ask({ type: 'unsubscribe', channels: ['metrics'] }, 'unsubscribed')).toEqual({ type: 'unsubscribed', channels: ['metrics'] });
    const after = s.messages.length;
    await a.app.events.publish(METRIC_SAMPLED, { samples: [sample('app.after-unsubscribe', 'custom')] });
    await a.app.events.publish(TICKET_CREATED, {
      id: 'ticket-sentinel',
      title: 'sentinel',
      description: null,
      status: 'OPEN',
      priority: 'LOW',
      assigneeId: null,
      createdById: null,
      serviceId: null,
      incidentId: null,
      alertIds: [],
      automatic: false,
      createdAt: new Date(),
      updatedAt: new Date(),
      resolvedAt: null,
      closedAt: null,
      comments: [],
    });
    await s.next((m) => m.type === 'event' && (m.data as { type: string }).type === 'ticket:created', after);
    expect(s.messages.slice(after).filter((m) => m.type === 'metric')).toEqual([]);
  });

  it('filters the events channel by type', async () => {
    const s = await LiveSocket.open(b, `?token=${token}`);
    await s.ask({ type: 'subscribe', channel: 'events', filters: { types: ['ticket:created'] } }, 'subscribed');
    const from = s.messages.length;
    await a.app.events.publish(SLA_ALERT, { scope: 'GROUP', serviceId: null, slaGroupId: null, status: 'AT_RISK', message: 'not for this socket', at: new Date() });
    await a.app.events.publish(TICKET_CREATED, {
      id: 'ticket-filtered',
      title: 'filtered',
      description: null,
      status: 'OPEN',
      priority: 'LOW',
      assigneeId: null,
      createdById: null,
      serviceId: null,
      incidentId: null,
      alertIds: [],
      automatic: false,
      createdAt: new Date(),
      updatedAt: new Date(),
      resolvedAt: null,
      closedAt: null,
      comments: [],
    });
    await s.next((m) => m.type === 'event', from);
    expect(s.messages.slice(from).map((m) => (m.data as { type: string }).type)).toEqual(['ticket:created']);
    expect((await s.ask({ type: 'subscribe', channel: 'events', filters: { types: ['ticket:eaten'] } }, 'error')).message).toMatch(/known types/);
  });
});

describe('/ws protocol errors', () => {
  it('answers unknown, malformed and refused messages with an error and keeps the socket open', async () => {
    const s = await LiveSocket.open(b, `?token=${token}`);
    expect((await s.ask({ type: 'subscrbe', channel: 'metrics' }, 'error')).message).toMatch(/unknown message type "subscrbe" \(did you mean subscribe\?\)/);
    expect((await s.ask('{not json', 'error')).message).toBe('message is not valid JSON');
    expect((await s.ask([1, 2], 'error')).message).toMatch(/JSON object/);
    expect((await s.ask({ type: 'subscribe', channel: 'metric' }, 'error')).message).toMatch(/unknown channel "metric" \(did you mean metrics\?\); known: metrics, events, alerts, health/);
    expect((await s.ask({ type: 'subscribe', channels: ['metrics'], channel: 'events' }, 'error')).message).toMatch(/either channel or channels/);
    expect((await s.ask({ type: 'subscribe', channel: 'metrics', filters: { collector: ['system'] } }, 'error')).message).toMatch(/filters/);
    expect((await s.ask({ type: 'subscribe', channel: 'metrics', filters: { names: Array.from({ length: 101 }, (_, i) => `m${i}`) } }, 'error')).message).toMatch(/names/);
    expect((await s.ask({ type: 'subscribe', channel: 'alerts', filters: {} }, 'error')).message).toMatch(/takes no filters/);
    expect((await s.ask({ type: 'ping', extra: 1 }, 'error')).message).toMatch(/ping/);
    // Still open, still served.
    expect(await s.ask({ type: 'ping' }, 'pong')).toMatchObject({ type: 'pong' });
    expect(s.ws.readyState).toBe(WebSocket.OPEN);
    // A refused subscribe subscribed nothing.
    const from = s.messages.length;
    await a.app.events.publish(METRIC_SAMPLED, { samples: [sample('app.refused', 'custom')] });
    expect(await s.ask({ type: 'ping' }, 'pong')).toBeTruthy();
    await expect(s.next(metricNamed('app.refused'), from, 300)).rejects.toThrow(/no matching message/);
  });

  it('refuses metricUpdated filters past their bounds', async () => {
    await expect(
      listen(b, { authorization: `Bearer ${token}` }, MetricUpdatedDocument, probeOf.metricUpdated(a), { variables: { names: Array.from({ length: 101 }, (_, i) => `m${i}`) }, timeoutMs: 2_000 }),
    ).rejects.toSatisfy((err: unknown) => JSON.stringify(err).includes('names: at most 100 entries'));
  });

  it('closed the idle socket with 4401 once its 5 s passed, not before', async () => {
    const closed = await idle.closed;
    expect(closed).toMatchObject({ code: 4401, reason: 'authentication timeout' });
    expect(closed.at - idle.openedAt).toBeGreaterThanOrEqual(4_900);
  }, 10_000);
});

describe('shutdown', () => {
  it('counts /ws sockets as open connections and closes them with 1001 when the instance stops', async () => {
    const c = await env.startApp({ role: 'api' });
    const s = await LiveSocket.open(c, `?token=${token}`);
    await s.ask({ type: 'subscribe', channel: 'metrics' }, 'subscribed');
    expect(c.app.runtime.connections().ws).toBe(1);
    const stopped = c.app.stop();
    expect((await s.closed).code).toBe(1001);
    expect((await stopped).webSockets).toBe(1);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { OpsEventsDocument, type OpsEventsSubscription } from '../generated/graphql.js';
import pino from 'pino';
import { z } from 'zod';
import { createEventBus, defineEvent } from '../../src/infra/events.js';
import { createRedisFallbacks } from '../../src/infra/redis-fallbacks.js';
import { systemClock } from '../../src/infra/clock.js';
import { LICENSE_UPDATED } from '../../src/modules/licenses/licenses.events.js';
import { SLA_ALERT } from '../../src/modules/sla/sla.events.js';
import { TICKET_CREATED } from '../../src/modules/tickets/tickets.events.js';
import { REDIS_URL } from '../support/env.js';
import { createTestEnv, tokenFor, waitFor, wsClient, type TestApp, type TestEnv } from '../support/harness.js';

let env: TestEnv;
let a: TestApp;
let b: TestApp;
let viewer: { authorization: string };
const clients: Client[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  // Two API instances sharing one PostgreSQL and one Redis, as behind a load balancer.
  [a, b] = await Promise.all([env.startApp({ role: 'api' }), env.startApp({ role: 'api' })]);
  viewer = { authorization: `Bearer ${await tokenFor(b, 'VIEWER')}` };
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await env.cleanup();
});

// Events of this file only: the bus carries defined events, and these exercise its buffers.
const BURST = defineEvent('test:burst', z.object({ i: z.number() }));
const NEVER_SENT = defineEvent('test:never-sent', z.object({}));
const BURST_END = defineEvent('test:burst-end', z.object({}));
const PROBE = defineEvent('test:probe', z.object({ at: z.coerce.date(), n: z.number().int() }));

const alert = { scope: 'SERVICE' as const, serviceId: 's-1', slaGroupId: null, status: 'BREACHED', message: 'budget spent', at: new Date('2026-02-07T14:00:00.000Z') };
const ticket = {
  id: 't-1',
  title: 'disk full',
  description: null,
  status: 'OPEN' as const,
  priority: 'HIGH' as const,
  assigneeId: null,
  createdById: null,
  serviceId: null,
  incidentId: null,
  alertIds: [],
  automatic: false,
  createdAt: new Date('2026-02-07T14:00:00.000Z'),
  updatedAt: new Date('2026-02-07T14:00:00.000Z'),
  resolvedAt: null,
  closedAt: null,
  comments: [],
};
const licenseNotice = (customer: string, last = false) => ({
  action: 'ACTIVATED' as const,
  message: last ? 'last' : 'first',
  license: { customer, plugins: [], activePlugins: [], issuedAt: new Date(), expiresAt: new Date(), status: 'ACTIVE' as const, maxServices: null, activatedAt: new Date() },
});
/** What a JSON payload of opsEvents looks like: dates as ISO strings. */
const asJson = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

/** Subscribes on a WebSocket and collects what arrives. */
function collect(client: Client, types?: string[]) {
  const received: OpsEventsSubscription['opsEvents'][] = [];
  const errors: unknown[] = [];
  client.subscribe<OpsEventsSubscription>(
    { query: print(OpsEventsDocument), variables: types ? { types } : {} },
    { next: (r) => (r.data ? received.push(r.data.opsEvents) : errors.push(r.errors)), error: (e) => errors.push(e), complete: () => undefined },
  );
  return { received, errors };
}

describe('opsEvents across instances', () => {
  it('delivers an event published on instance A to a subscriber on instance B, filtered by type', async () => {
    const client = wsClient(b.wsUrl, viewer);
    clients.push(client);
    const onlyAlerts = collect(client, ['sla:alert']);
    const everything = collect(client);

    // The subscription is live once the server has processed it; publish until the first one lands.
    await waitFor(async () => {
      await a.app.events.publish(SLA_ALERT, alert);
      return onlyAlerts.received.length > 0;
    }, 5_000, 100);
    await a.app.events.publish(TICKET_CREATED, ticket);
    await waitFor(() => everything.received.some((e) => e.type === 'ticket:created'));

    expect(onlyAlerts.errors).toEqual([]);
    expect(onlyAlerts.received.every((e) => e.type === 'sla:alert')).toBe(true);
    expect(onlyAlerts.received[0]?.payload).toEqual(asJson(alert));
    expect(onlyAlerts.received[0]?.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(everything.received.map((e) => e.type)).toContain('sla:alert');
    expect(everything.received.find((e) => e.type === 'ticket:created')?.payload).toEqual(asJson(ticket));
  });

  it('survives a burst larger than a lagging subscriber can hold: it keeps the newest, other types cost it nothing', async () => {
    // Subscribed and not reading, like a stalled WebSocket client; the internal listeners are there too.
    const lagging = b.app.events.subscribe([BURST])[Symbol.asyncIterator]();
    const quiet = b.app.events.subscribe([NEVER_SENT])[Symbol.asyncIterator]();
    // Redis delivers in order: once this one hears the end, B has handed out the whole burst.
    const end = b.app.events.subscribe([BURST_END])[Symbol.asyncIterator]().next();
    const total = 12_000;
    // One pipeline: the events reach B in a few large reads, thousands in one tick.
    const redis = new Redis(REDIS_URL);
    const pipeline = redis.pipeline();
    const channel = `${env.prefix}:events`;
    for (let i = 0; i < total; i++) pipeline.publish(channel, JSON.stringify({ type: BURST.type, payload: { i }, timestamp: new Date().toISOString() }));
    await pipeline.exec();
    await redis.quit();
    await a.app.events.publish(BURST, { i: total });
    await a.app.events.publish(BURST_END, {});
    await end;
    const first = await lagging.next();
    // The 10,000 newest are kept, the oldest dropped.
    expect((first.value!.payload as { i: number }).i).toBeGreaterThan(total - 10_000);
    let last = first.value!;
    for (let n = 1; (last.payload as { i: number }).i < total; n++) last = (await lagging.next()).value!;
    expect(last.payload).toEqual({ i: total });
    await Promise.all([lagging.return!(), quiet.return!()]);
    // B still serves.
    const res = await fetch(`${b.url}/healthz`);
    expect(res.status).toBe(200);
  });

  it('keeps deployments with different REDIS_PREFIX apart', async () => {
    const other = await createTestEnv();
    try {
      const c = await other.startApp({ role: 'api' });
      const client = wsClient(c.wsUrl, { authorization: `Bearer ${await tokenFor(c, 'VIEWER')}` });
      clients.push(client);
      const foreign = collect(client);
      const mineClient = wsClient(b.wsUrl, viewer);
      clients.push(mineClient);
      const mine = collect(mineClient);
      // First make sure both subscribers are live, each hearing its own deployment.
      await waitFor(async () => {
        await a.app.events.publish(LICENSE_UPDATED, licenseNotice('Acme'));
        return mine.received.length > 0;
      }, 5_000, 100);
      await waitFor(async () => {
        await c.app.events.publish(LICENSE_UPDATED, licenseNotice('Other'));
        return foreign.received.length > 0;
      }, 5_000, 100);
      // Then one more event on A: B hears it, the other deployment must not.
      await a.app.events.publish(LICENSE_UPDATED, licenseNotice('Acme', true));
      await waitFor(() => mine.received.some((e) => (e.payload as { message: string }).message === 'last'));
      await c.app.events.publish(LICENSE_UPDATED, licenseNotice('Other', true));
      await waitFor(() => foreign.received.some((e) => (e.payload as { message: string }).message === 'last'));
      expect(foreign.received.every((e) => (e.payload as { license: { customer: string } }).license.customer === 'Other')).toBe(true);
      expect(mine.received.every((e) => (e.payload as { license: { customer: string } }).license.customer === 'Acme')).toBe(true);
    } finally {
      await other.cleanup();
    }
  });

  it('rejects an invalid subscription document with a GraphQL error and no stack', async () => {
    const client = wsClient(b.wsUrl, viewer);
    clients.push(client);
    const errors = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: 'subscription { opsEvents { nope } }' }, { next: () => undefined, error: resolve, complete: () => resolve(null) });
    });
    expect(JSON.stringify(errors)).toMatch(/nope/);
    expect(JSON.stringify(errors)).not.toMatch(/\.ts:\d+|\.js:\d+/);
  });
});

describe('typed events', () => {
  it('refuses and logs an invalid payload instead of sending it, and hands receivers parsed payloads', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const [publisher, subscriber] = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
    const bus = createEventBus({ publisher, subscriber, prefix: `${env.prefix}_typed`, clock: systemClock, logger, fallbacks: createRedisFallbacks(logger, { timeoutMs: 1_000 }) });
    await bus.start();
    try {
      const heard = bus.subscribe([PROBE])[Symbol.asyncIterator]();
      await bus.publish(PROBE, { at: 'not a date', n: 1.5 } as never);
      expect(lines.find((l) => l.msg === 'refused to publish an invalid event')).toMatchObject({ type: 'test:probe' });
      const at = new Date('2026-02-07T14:00:00.000Z');
      await bus.publish(PROBE, { at, n: 2 });
      // The first event to arrive is the valid one: the invalid one was never sent.
      const first = await heard.next();
      expect(first.value!.payload).toEqual({ at, n: 2 });
      expect((first.value!.payload as { at: unknown }).at).toBeInstanceOf(Date);
      await heard.return!();
    } finally {
      await bus.close();
      publisher.disconnect();
      subscriber.disconnect();
    }
  });
});

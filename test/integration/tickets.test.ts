import { SLA_INCIDENT } from '../../src/modules/sla/sla.events.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddTicketCommentDocument,
  CreateTicketDocument,
  DeleteTicketDocument,
  TicketCreatedDocument,
  TicketDeletedDocument,
  TicketDocument,
  TicketsDocument,
  TicketUpdatedDocument,
  UpdateTicketDocument,
  type TicketCreatedSubscription,
  type TicketDeletedSubscription,
  type TicketUpdatedSubscription,
} from '../generated/graphql.js';
import { agent, newAgentKey } from '../support/agent.js';
import { FakeClock } from '../support/fake-clock.js';
import { ADMIN, bearer, createTestEnv, gql, listen, login, probeOf, queueIdle, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';
import { activateTestLicense } from '../support/license.js';

const clock = new FakeClock('2026-02-07T14:00:00.000Z');
let env: TestEnv;
/** API and workers: the automatic tickets are written by a worker. */
let a: TestApp;
/** Another API instance: subscribers there hear what happens on `a`. */
let b: TestApp;
let operator: { authorization: string };
let viewer: { authorization: string };
let operatorId: string;

beforeAll(async () => {
  env = await createTestEnv();
  [a, b] = await Promise.all([env.startApp({ role: 'all', clock, overrides: { RATE_LIMIT_AGENT: '100000' } }), env.startApp({ role: 'api', clock })]);
  await activateTestLicense(a, { now: clock.now(), plugins: ['ticketing'] });
  operator = bearer(await tokenFor(a, 'OPERATOR'));
  viewer = bearer(await tokenFor(a, 'VIEWER'));
  operatorId = (await a.app.db.prisma.user.findUniqueOrThrow({ where: { email: 'operator@opsgraph.test' } })).id;
});
afterAll(() => env.cleanup());

describe('ticket CRUD', () => {
  it('create, read, list with filters and pages, update, comment, delete, each heard over /graphql/ws on another instance', async () => {
    // Each resolves once its subscription is live on b: a probe published on a has come through it.
    const created = await listen(b, viewer, TicketCreatedDocument, probeOf.ticketCreated(a), { pick: (d: TicketCreatedSubscription) => d.ticketCreated });
    const updated = await listen(b, viewer, TicketUpdatedDocument, probeOf.ticketUpdated(a), { pick: (d: TicketUpdatedSubscription) => d.ticketUpdated });
    const deleted = await listen(b, viewer, TicketDeletedDocument, probeOf.ticketDeleted(a), { pick: (d: TicketDeletedSubscription) => d.ticketDeleted });
    const ops = await listen(b, viewer, 'subscription { opsEvents(types: ["ticket:created", "ticket:updated", "ticket:deleted"]) { type payload } }', probeOf.ticketCreated(a), {
      pick: (d: { opsEvents: { type: string; payload: { id: string } } }) => d.opsEvents,
    });

    const c = await gql(a.url, CreateTicketDocument, { input: { title: 'Checkout is slow', description: 'p95 above 2 s', priority: 'HIGH', assigneeId: operatorId, alertIds: ['alert-1'] } }, operator);
    expect(c.errors).toBeUndefined();
    const ticket = c.data!.createTicket;
    expect(ticket).toMatchObject({
      title: 'Checkout is slow',
      description: 'p95 above 2 s',
      status: 'OPEN',
      priority: 'HIGH',
      assigneeId: operatorId,
      assignee: { id: operatorId, email: 'operator@opsgraph.test' },
      createdById: operatorId,
      alertIds: ['alert-1'],
      automatic: false,
      createdAt: clock.now().toISOString(),
      resolvedAt: null,
      comments: [],
    });
    const second = (await gql(a.url, CreateTicketDocument, { input: { title: 'Disk almost full' } }, operator)).data!.createTicket;
    expect(second).toMatchObject({ priority: 'MEDIUM', status: 'OPEN', assignee: null });

    expect((await gql(a.url, TicketDocument, { id: ticket.id }, viewer)).data!.ticket.title).toBe('Checkout is slow');
    const high = await gql(a.url, TicketsDocument, { filter: { priority: 'HIGH' } }, viewer);
    expect(high.data!.tickets.items.map((t) => t.id)).toEqual([ticket.id]);
    const paged = await gql(a.url, TicketsDocument, { page: { limit: 1, sort: 'title', order: 'asc' } }, viewer);
    expect(paged.data!.tickets).toMatchObject({ items: [{ title: 'Checkout is slow' }], pageInfo: { page: 1, limit: 1, total: 2, pages: 2, hasNext: true, hasPrev: false } });
    expect((await gql(a.url, TicketsDocument, { filter: { search: 'DISK' } }, viewer)).data!.tickets.items.map((t) => t.id)).toEqual([second.id]);

    clock.advance(60_000);
    const u = await gql(a.url, UpdateTicketDocument, { id: ticket.id, input: { status: 'RESOLVED', assigneeId: null } }, operator);
    expect(u.data!.updateTicket).toMatchObject({ status: 'RESOLVED', assigneeId: null, assignee: null, resolvedAt: clock.now().toISOString(), title: 'Checkout is slow' });
    const commented = await gql(a.url, AddTicketCommentDocument, { id: ticket.id, input: { body: 'Fixed by scaling out' } }, operator);
    expect(commented.data!.addTicketComment.comments).toEqual([{ id: expect.any(String), authorId: operatorId, body: 'Fixed by scaling out', createdAt: clock.now().toISOString() }]);

    expect((await gql(a.url, DeleteTicketDocument, { id: second.id }, operator)).data!.deleteTicket).toBe(true);
    const again = await gql(a.url, DeleteTicketDocument, { id: second.id }, operator);
    expect(again.errors![0]!.extensions!.code).toBe('NOT_FOUND');

    await waitFor(() => created.received.length === 2 && updated.received.length === 2 && deleted.received.length === 1 && ops.received.length === 5, 2_000, 10);
    expect(created.received.map((t) => t.title)).toEqual(['Checkout is slow', 'Disk almost full']);
    expect(updated.received.map((t) => [t.status, t.comments.length])).toEqual([
      ['RESOLVED', 0],
      ['RESOLVED', 1],
    ]);
    expect(deleted.received).toEqual([{ id: second.id, title: 'Disk almost full' }]);
    expect(ops.received.map((e) => e.type)).toEqual(['ticket:created', 'ticket:created', 'ticket:updated', 'ticket:updated', 'ticket:deleted']);
    for (const l of [created, updated, deleted, ops]) await l.dispose();
  });

  it('refuses bad input naming the field, and viewers cannot write', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ title: '' }, 'title'],
      [{ title: 'x'.repeat(201) }, 'title'],
      [{ title: 'ok', serviceId: 'not-a-uuid' }, 'serviceId'],
      [{ title: 'ok', serviceId: '00000000-0000-4000-8000-000000000000' }, 'serviceId'],
      [{ title: 'ok', incidentId: '00000000-0000-4000-8000-000000000000' }, 'incidentId'],
      [{ title: 'ok', assigneeId: '00000000-0000-4000-8000-000000000000' }, 'assigneeId'],
    ];
    for (const [input, field] of cases) {
      const r = await gql(a.url, CreateTicketDocument, { input: input as never }, operator);
      const ext = r.errors?.[0]?.extensions as { code: string; field?: string; fields?: { field: string }[] };
      expect([field, ext.code]).toEqual([field, 'BAD_USER_INPUT']);
      expect(ext.field ?? ext.fields?.[0]?.field).toBe(field);
    }
    const r = await gql(a.url, CreateTicketDocument, { input: { title: 'nope' } }, viewer);
    expect(r.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const missing = await gql(a.url, TicketDocument, { id: '00000000-0000-4000-8000-000000000000' }, viewer);
    expect(missing.errors![0]!.extensions!.code).toBe('NOT_FOUND');
  });
});

describe('automatic incident tickets', () => {
  it('an incident in a critical group opens one CRITICAL ticket, closed when the incident closes; other tiers get none', async () => {
    const ag = agent(a, await newAgentKey(a));
    const nodeId = 'org/tickets/cluster';
    const at = () => clock.now().toISOString();
    const post = (status: string, name = 'payments-api', group = 'payments') =>
      ag.status({ nodeId, observedAt: at(), services: [{ name, status, slaGroup: group }], slaGroups: [{ name: 'payments', tier: 'critical' }, { name: 'reports', tier: 'standard' }] });
    expect((await post('OPERATIONAL')).status).toBe(200);
    expect((await post('OPERATIONAL', 'reports-api', 'reports')).status).toBe(200);
    clock.advance(30_000);
    expect((await post('MAJOR_OUTAGE')).status).toBe(200);
    expect((await post('MAJOR_OUTAGE', 'reports-api', 'reports')).status).toBe(200);

    const incident = await a.app.db.prisma.incident.findFirstOrThrow({ where: { service: { name: 'payments-api' } } });
    const auto = () => a.app.db.prisma.ticket.findMany({ where: { autoIncidentId: { not: null } } });
    await waitFor(async () => (await auto()).length === 1, 5_000);
    const [ticket] = await auto();
    expect(ticket).toMatchObject({ priority: 'CRITICAL', status: 'OPEN', incidentId: incident.id, serviceId: incident.serviceId, createdById: null });
    expect(ticket!.title).toMatch(/payments-api is down/);

    // The same notice again (the outbox row relayed twice, another job for the same incident): still one ticket.
    const { slaGroupId } = await a.app.db.prisma.service.findUniqueOrThrow({ where: { id: incident.serviceId } });
    // Back to pending and due now (a delivered row keeps its lease's end as availableAt).
    await a.app.db.pool.query(`UPDATE "OutboxEvent" SET state = 'PENDING', "availableAt" = now() WHERE type = $1`, [SLA_INCIDENT.type]);
    await Promise.all([a.app.outbox.relay(), b.app.outbox.relay()]);
    await a.app.jobs.enqueueByName('tickets.incident-ticket', { action: 'OPENED', incident: { ...incident, slaGroupId }, raisedAt: new Date(), eventId: '999999' });

    clock.advance(30_000);
    expect((await post('OPERATIONAL')).status).toBe(200);
    await waitFor(async () => (await a.app.db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket!.id } })).status === 'CLOSED', 5_000);
    const closed = await gql(a.url, TicketDocument, { id: ticket!.id }, viewer);
    expect(closed.data!.ticket).toMatchObject({ status: 'CLOSED', automatic: true, closedAt: clock.now().toISOString() });
    // "Still one ticket" needs the duplicates to have been dealt with, not a pause: every outbox row
    // relayed (the CLOSED notice is the last), then the queue has run every job it was handed.
    await waitFor(async () => (await a.app.db.prisma.outboxEvent.count({ where: { type: SLA_INCIDENT.type, state: 'PENDING' } })) === 0, 5_000);
    await queueIdle(a, 'tickets');
    expect(await auto()).toHaveLength(1);

    // A late report at the closing instant says it was still down (the later-declared status wins a
    // tie): the incident is open again, and so is its ticket.
    const closedAt = clock.now().toISOString();
    clock.advance(5_000);
    expect((await ag.status({ nodeId, observedAt: closedAt, services: [{ name: 'payments-api', status: 'MAJOR_OUTAGE', slaGroup: 'payments' }] })).status).toBe(200);
    await waitFor(async () => (await a.app.db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket!.id } })).status === 'OPEN', 5_000);
    expect(await a.app.db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket!.id } })).toMatchObject({ closedAt: null, resolvedAt: null });

    // A late report before its start says it began earlier: the incident as it was is gone (its ticket
    // closes) and the revised one, starting earlier, gets a ticket of its own.
    const earlier = new Date(Date.parse(incident.startedAt.toISOString()) - 10_000).toISOString();
    expect((await ag.status({ nodeId, observedAt: earlier, services: [{ name: 'payments-api', status: 'MAJOR_OUTAGE', slaGroup: 'payments' }] })).status).toBe(200);
    await waitFor(async () => (await auto()).length === 2, 5_000);
    await waitFor(async () => (await a.app.db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket!.id } })).status === 'CLOSED', 5_000);
    const revised = (await auto()).find((t) => t.id !== ticket!.id)!;
    expect(revised).toMatchObject({ status: 'OPEN', incidentId: (await a.app.db.prisma.incident.findFirstOrThrow({ where: { serviceId: incident.serviceId } })).id });
    expect((await a.app.db.prisma.incident.findFirstOrThrow({ where: { serviceId: incident.serviceId } })).startedAt.toISOString()).toBe(earlier);
  });
});

describe('licensing', () => {
  it('without the ticketing plugin every ticket field answers LICENSE_REQUIRED', async () => {
    await activateTestLicense(a, { now: clock.now(), plugins: ['sla'] });
    const admin = bearer((await login(a.url, ADMIN.email, ADMIN.password)).token);
    const results = await Promise.all([
      gql(a.url, TicketsDocument, {}, admin),
      gql(a.url, TicketDocument, { id: '00000000-0000-4000-8000-000000000000' }, admin),
      gql(a.url, CreateTicketDocument, { input: { title: 'x' } }, admin),
      gql(a.url, UpdateTicketDocument, { id: '00000000-0000-4000-8000-000000000000', input: { title: 'y' } }, admin),
      gql(a.url, DeleteTicketDocument, { id: '00000000-0000-4000-8000-000000000000' }, admin),
      gql(b.url, AddTicketCommentDocument, { id: '00000000-0000-4000-8000-000000000000', input: { body: 'z' } }, admin),
    ]);
    for (const r of results) expect(r.errors![0]!.extensions).toEqual({ code: 'LICENSE_REQUIRED', plugin: 'ticketing' });
    await activateTestLicense(a, { now: clock.now(), plugins: ['ticketing'] });
    expect((await gql(b.url, TicketsDocument, {}, admin)).errors).toBeUndefined();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DeleteSlaGroupDocument, LoginWithUserDocument, OpsEventsDocument, SlaGroupsDocument } from '../generated/graphql.js';
import { agent, newAgentKey } from '../support/agent.js';
import { ADMIN, bearer, createTestEnv, gql, login, tokenFor, wsClient, type TestApp, type TestEnv } from '../support/harness.js';
import { print } from 'graphql';

/** The mistakes a newcomer makes on a first day: each is refused clearly, and nothing is lost. */
let env: TestEnv;
let api: TestApp;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'api', overrides: { RATE_LIMIT_AGENT: '100000' } });
  key = await newAgentKey(api);
});
afterAll(() => env.cleanup());

const db = () => api.app.db.prisma;
const service = (nodeId: string, name: string) => db().service.findUnique({ where: { nodeId_name: { nodeId, name } }, include: { slaGroup: true } });

describe('agent bodies are strict', () => {
  it('a misspelt key is refused naming it, with a suggestion, and the stored replicas stay', async () => {
    const ag = agent(api, key);
    const nodeId = 'newcomer/strict';
    expect((await ag.status({ nodeId, services: [{ name: 'my-api', status: 'OPERATIONAL', replicas: 3, readyReplicas: 3, namespace: 'prod' }] })).status).toBe(200);

    const typo = await ag.status({ nodeId, services: [{ name: 'my-api', status: 'OPERATIONAL', readyReplica: 3 }] });
    expect(typo.status).toBe(400);
    expect(typo.body.error).toMatchObject({ code: 'ERR_1001', details: { field: 'services[0].readyReplica' } });
    expect(typo.body.error.message).toMatch(/did you mean readyReplicas\?/);
    expect(await service(nodeId, 'my-api')).toMatchObject({ replicas: 3, readyReplicas: 3 });

    // Left out keeps; an explicit null clears.
    expect((await ag.status({ nodeId, services: [{ name: 'my-api', status: 'DEGRADED' }] })).status).toBe(200);
    expect(await service(nodeId, 'my-api')).toMatchObject({ status: 'DEGRADED', replicas: 3, readyReplicas: 3, namespace: 'prod' });
    expect((await ag.status({ nodeId, services: [{ name: 'my-api', status: 'OPERATIONAL', readyReplicas: null, namespace: null }] })).status).toBe(200);
    expect(await service(nodeId, 'my-api')).toMatchObject({ replicas: 3, readyReplicas: null, namespace: null });
  });

  it('a misspelt required field says which is required and which is unknown', async () => {
    const r = await agent(api, key).status({ nodeId: 'newcomer/strict', services: [{ name: 'my-api', staus: 'OPERATIONAL' }] });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/services\[0\]\.status: required/);
    expect(r.body.error.message).toMatch(/services\[0\]\.staus: unknown field; did you mean status\?/);
  });

  it('every agent route and the license route refuse unknown keys', async () => {
    const ag = agent(api, key);
    const answers = await Promise.all([
      ag.heartbeat({ nodeId: 'newcomer/strict', versoin: '1' }),
      ag.register({ name: 'x', nodeId: 'newcomer/strict', operations: { backup: { expected: true, maxAgeDay: 2 } } }),
      ag.backup({ service: 'my-api', status: 'success', sizeByte: 10 }),
      fetch(`${api.url}/api/v1/operator/services?nodeId=newcomer&extra=1`, { headers: { authorization: `Bearer ${key}` } }).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as Record<string, any>,
      })),
      fetch(`${api.url}/api/v1/license/activate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ licenseKey: 'a.b.c', licenceKey: 'x' }) }).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as Record<string, any>,
      })),
    ]);
    expect(answers.map((a) => [a.status, a.body.error?.details?.field])).toEqual([
      [400, 'versoin'],
      [400, 'operations.backup.maxAgeDay'],
      [400, 'sizeByte'],
      [400, 'extra'],
      [400, 'licenceKey'],
    ]);
  });

  it('a body that is not JSON gets 415 saying what to send', async () => {
    const res = await fetch(`${api.url}/api/v1/operator/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${key}` },
      body: '{"nodeId":"n","services":[]}',
    });
    expect(res.status).toBe(415);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(body.error.message).toMatch(/send Content-Type: application\/json/);
  });
});

describe('SLA groups', () => {
  it('a service naming a group that does not exist is refused and no group is made', async () => {
    const ag = agent(api, key);
    const nodeId = 'newcomer/groups';
    const ok = await ag.status({ nodeId, services: [{ name: 'pay', status: 'OPERATIONAL', slaGroup: 'payments' }], slaGroups: [{ name: 'payments', tier: 'critical' }] });
    expect(ok.status).toBe(200);
    const before = await db().slaGroup.count();

    const typo = await ag.status({ nodeId, services: [{ name: 'other', status: 'OPERATIONAL' }, { name: 'pay', status: 'OPERATIONAL', slaGroup: 'paymnets' }] });
    expect(typo.status).toBe(400);
    expect(typo.body.error.details.field).toBe('services[1].slaGroup');
    expect(typo.body.error.message).toMatch(/did you mean payments\?/);
    expect(await db().slaGroup.count()).toBe(before);
    expect((await service(nodeId, 'pay'))!.slaGroup!.name).toBe('payments');
    // Nothing of the refused report was written, the valid entry included.
    expect(await service(nodeId, 'other')).toBeNull();
    // A group named by a service but defined in the same report is fine; so is one that exists.
    expect((await ag.status({ nodeId, services: [{ name: 'pay', status: 'OPERATIONAL', slaGroup: 'payments' }] })).status).toBe(200);
  });

  it('an admin deletes a group no service uses; one in use is refused', async () => {
    const ag = agent(api, key);
    await ag.status({ nodeId: 'newcomer/groups', services: [], slaGroups: [{ name: 'unused-group' }] });
    const admin = bearer(await tokenFor(api, 'ADMIN'));
    const groups = (await gql(api.url, SlaGroupsDocument, {}, admin)).data!.slaGroups;
    const unused = groups.find((g) => g.name === 'unused-group')!;
    const used = groups.find((g) => g.name === 'payments')!;

    const viewer = await gql(api.url, DeleteSlaGroupDocument, { id: unused.id }, bearer(await tokenFor(api, 'VIEWER')));
    expect(viewer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const inUse = await gql(api.url, DeleteSlaGroupDocument, { id: used.id }, admin);
    expect(inUse.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect((await gql(api.url, DeleteSlaGroupDocument, { id: unused.id }, admin)).data?.deleteSlaGroup).toBe(true);
    expect(await db().slaGroup.findUnique({ where: { id: unused.id } })).toBeNull();
    const entry = await db().auditEntry.findFirst({ where: { action: 'slagroup.delete', resourceId: unused.id } });
    expect(entry).not.toBeNull();
  });
});

describe('backup reports', () => {
  it('a name on two clusters is refused with its candidates unless nodeId narrows it', async () => {
    const ag = agent(api, key);
    for (const nodeId of ['newcomer/east', 'newcomer/west']) {
      expect((await ag.status({ nodeId, services: [{ name: 'twin-api', status: 'OPERATIONAL' }] })).status).toBe(200);
    }
    const ambiguous = await ag.backup({ service: 'twin-api', status: 'success' });
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body.error.details.candidates).toEqual(['newcomer/east/twin-api', 'newcomer/west/twin-api']);
    expect(await db().backupReport.count({ where: { service: { name: 'twin-api' } } })).toBe(0);

    const narrowed = await ag.backup({ service: 'twin-api', nodeId: 'newcomer/west', status: 'success' });
    expect(narrowed.status).toBe(200);
    expect(narrowed.body).toMatchObject({ message: 'backup report recorded for 1 service', affected: 1, services: ['newcomer/west/twin-api'] });
    // A key bound to a node narrows by itself.
    const bound = await newAgentKey(api, 'newcomer/east');
    const byBound = await agent(api, bound).backup({ service: 'twin-api', status: 'success' });
    expect(byBound.body.services).toEqual(['newcomer/east/twin-api']);
  });
});

describe('subscriptions', () => {
  it('an unknown event type is refused naming the known ones', async () => {
    const token = await tokenFor(api, 'VIEWER');
    const client = wsClient(api.wsUrl, { authorization: token });
    try {
      // The refusal arrives as the subscription's one result (or as its error), never as silence.
      const errors = await new Promise<{ message: string; extensions?: { code?: string } }[]>((resolve, reject) => {
        client.subscribe(
          { query: print(OpsEventsDocument), variables: { types: ['service:statuschanged'] } },
          { next: (r) => resolve((r.errors ?? []) as never), error: (e) => resolve(e as never), complete: () => reject(new Error('completed without an answer')) },
        );
      });
      expect(errors[0]!.extensions?.code).toBe('BAD_USER_INPUT');
      expect(errors[0]!.message).toMatch(/did you mean service:status_changed/);
      expect(errors[0]!.message).toMatch(/known: .*sla:incident/);
    } finally {
      await client.dispose();
    }
  });

  it('a refused WebSocket says why in its close frame', async () => {
    const close = (params?: Record<string, unknown>) =>
      new Promise<{ code: number; reason: string }>((resolve) => {
        const ws = new WebSocket(api.wsUrl, 'graphql-transport-ws');
        ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: params })));
        ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
      });
    expect(await close()).toEqual({ code: 4403, reason: 'no token' });
    expect(await close({ authorization: 'Bearer not-a-token' })).toEqual({ code: 4403, reason: 'bad token' });
    expect((await login(api.url, ADMIN.email, ADMIN.password)).token).toBeTruthy();
  });
});

describe('login', () => {
  it('answers every field of its user, not only id, email and role', async () => {
    const r = await gql(api.url, LoginWithUserDocument, { email: ADMIN.email, password: ADMIN.password });
    expect(r.errors).toBeUndefined();
    expect(r.data!.login.user).toMatchObject({ email: ADMIN.email, role: 'ADMIN', disabled: false });
    expect(new Date(r.data!.login.user.createdAt as string).getTime()).toBeGreaterThan(0);
  });
});

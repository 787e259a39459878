import { createHmac, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateLicenseKeyPair } from '../../src/lib/license-keys.js';
import {
  ActivateLicenseDocument,
  LicenseDocument,
  LicenseUpdatedDocument,
  SeedDashboardStatsDocument,
  SetLicensePublicKeyDocument,
  TicketsDocument,
  type LicenseUpdatedSubscription,
} from '../generated/graphql.js';
import { agent, newAgentKey } from '../support/agent.js';
import { FakeClock } from '../support/fake-clock.js';
import { ADMIN, bearer, createTestEnv, gql, login, probeOf, queueIdle, subscribeReady, tokenFor, waitFor, wsClient, type TestApp, type TestEnv } from '../support/harness.js';
import { postActivate, TEST_LICENSE_KEYS, testLicenseKey } from '../support/license.js';

const DAY_MS = 86_400_000;
const T0 = Date.parse('2026-02-07T14:00:00.000Z');
const clock = new FakeClock(new Date(T0));
let env: TestEnv;
/** API and workers. */
let a: TestApp;
/** A second API instance: gating must follow activations made on `a`. */
let b: TestApp;

/** Access tokens follow the fake clock: log in afresh after it moves. */
const as = async (api: TestApp, email = ADMIN.email, password = ADMIN.password) => bearer((await login(api.url, email, password)).token);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

async function runJob(api: TestApp, name: string) {
  const job = await api.app.jobs.enqueueByName(name, {});
  await waitFor(async () => ['completed', 'failed'].includes(await job.getState()));
  expect(await job.getState()).toBe('completed');
  return (await api.app.jobs.queues.get('licenses')!.getJob(job.id!))!.returnvalue as unknown;
}

async function activeCustomer(api: TestApp): Promise<string | null> {
  const r = await gql(api.url, LicenseDocument, {}, await as(api));
  return r.data!.license?.customer ?? null;
}

beforeAll(async () => {
  env = await createTestEnv();
  [a, b] = await Promise.all([env.startApp({ role: 'all', clock }), env.startApp({ role: 'api', clock })]);
});
afterAll(() => env.cleanup());

describe('without a license', () => {
  it('the plugins answer LICENSE_REQUIRED naming the plugin; the license query is null', async () => {
    const admin = await as(a);
    expect((await gql(a.url, LicenseDocument, {}, admin)).data!.license).toBeNull();
    const stats = await gql(a.url, SeedDashboardStatsDocument, {}, admin);
    expect(stats.errors![0]!.extensions).toEqual({ code: 'LICENSE_REQUIRED', plugin: 'sla' });
    // Nothing answered: 403, as over REST (the error table says so for both).
    expect(stats.status).toBe(403);
    const tickets = await gql(a.url, TicketsDocument, {}, admin);
    expect(tickets.errors![0]!.extensions).toEqual({ code: 'LICENSE_REQUIRED', plugin: 'ticketing' });
    expect(tickets.errors![0]!.message).toMatch(/ticketing plugin needs a license: no license is active/);
  });
});

describe('activation', () => {
  it('a key signed with the configured private key activates, and the seed answer comes back', async () => {
    const licenseKey = await testLicenseKey({ customer: 'My Company', plugins: ['ticketing', 'sla', 'audit'], now: clock.now() });
    const res = await postActivate(a, { licenseKey });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: 'License activated', customer: 'My Company', plugins: ['ticketing', 'sla', 'audit'] });
    expect(res.headers.get('x-ratelimit-limit')).toBeTruthy();
    const r = await gql(a.url, LicenseDocument, {}, await as(a));
    expect(r.data!.license).toEqual({
      customer: 'My Company',
      plugins: ['ticketing', 'sla', 'audit'],
      activePlugins: ['ticketing', 'sla', 'audit'],
      issuedAt: new Date(T0).toISOString(),
      expiresAt: new Date(T0 + 365 * DAY_MS).toISOString(),
      status: 'ACTIVE',
      maxServices: null,
      activatedAt: new Date(T0).toISOString(),
    });
    // The history keeps the activation, not the key.
    const rows = await a.app.db.prisma.license.findMany();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(licenseKey);
  });

  it('activateLicense (GraphQL, admins) activates too and says so on licenseUpdated, on every instance', async () => {
    const client = wsClient(b.wsUrl, { authorization: (await as(b)).authorization });
    // Live once a probe license:updated has come through it.
    const { received: seen } = await subscribeReady(client, LicenseUpdatedDocument, {}, probeOf.licenseUpdated(a), { pick: (d: LicenseUpdatedSubscription) => d.licenseUpdated });
    const licenseKey = await testLicenseKey({ customer: 'Second Co', plugins: ['sla'], now: clock.now() });
    const r = await gql(a.url, ActivateLicenseDocument, { licenseKey }, await as(a));
    expect(r.data!.activateLicense).toMatchObject({ success: true, message: 'License activated', customer: 'Second Co', plugins: ['sla'], license: { status: 'ACTIVE' } });
    await waitFor(() => seen.length === 1, 2_000, 10);
    expect(seen[0]).toMatchObject({ action: 'ACTIVATED', license: { customer: 'Second Co', plugins: ['sla'], activePlugins: ['sla'] } });
    // The other instance gates by the new license at once: ticketing is not in it.
    const tickets = await gql(b.url, TicketsDocument, {}, await as(b));
    expect(tickets.errors![0]!.extensions).toEqual({ code: 'LICENSE_REQUIRED', plugin: 'ticketing' });
    await client.dispose();
    // Back to a full license for what follows.
    await postActivate(a, { licenseKey: await testLicenseKey({ customer: 'My Company', now: clock.now() }) });
  });

  it('refuses bad keys with 4xx naming licenseKey, and the active license stays as it was', async () => {
    const good = await testLicenseKey({ customer: 'Evil Corp', now: clock.now() });
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const other = generateLicenseKeyPair();
    const claims = { customer: 'Evil Corp', plugins: ['ticketing', 'sla', 'audit'], iat: Math.floor(T0 / 1000), exp: Math.floor(T0 / 1000) + 3_600 };
    const hsHeader = b64({ alg: 'HS256', typ: 'JWT' });
    const hsSignature = createHmac('sha256', TEST_LICENSE_KEYS.publicKeyPem).update(`${hsHeader}.${b64(claims)}`).digest('base64url');
    const cases: [string, string, number, string][] = [
      ['wrong key', await testLicenseKey({ customer: 'Evil Corp', now: clock.now(), privateKeyPem: other.privateKeyPem, kid: TEST_LICENSE_KEYS.thumbprint }), 422, 'signature'],
      ['wrong key, no kid', await testLicenseKey({ customer: 'Evil Corp', now: clock.now(), privateKeyPem: other.privateKeyPem }), 422, 'unknown_kid'],
      ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`, 422, 'algorithm'],
      ['HS256 signed with the public key', `${hsHeader}.${b64(claims)}.${hsSignature}`, 422, 'algorithm'],
      ['expired', await testLicenseKey({ customer: 'Evil Corp', now: new Date(T0 - 400 * DAY_MS) }), 422, 'expired'],
      ['not yet valid', await testLicenseKey({ customer: 'Evil Corp', now: clock.now(), notBefore: new Date(T0 + DAY_MS) }), 422, 'not_yet_valid'],
      ['tampered payload', `${header}.${b64({ ...claims, exp: claims.exp + 999 * 86_400 })}.${signature}`, 422, 'signature'],
      ['truncated', good.slice(0, -12), 422, 'signature'],
      ['two parts', `${header}.${payload}`, 400, 'malformed'],
      ['garbage header', `%%%.${payload}.${signature}`, 400, 'malformed'],
      ['unknown plugin', await testLicenseKey({ customer: 'Evil Corp', plugins: ['ticketing', 'billing'], now: clock.now() }), 422, 'claims'],
    ];
    const before = await a.app.db.prisma.license.count();
    for (const [name, licenseKey, status, reason] of cases) {
      const res = await postActivate(a, { licenseKey });
      expect([name, res.status, res.body.error?.details?.field, res.body.error?.details?.reason]).toEqual([name, status, 'licenseKey', reason]);
      expect([name, res.body.error.code]).toEqual([name, status === 400 ? 'ERR_1001' : 'ERR_1006']);
      const g = await gql(a.url, ActivateLicenseDocument, { licenseKey }, await as(a));
      expect([name, g.errors?.[0]?.extensions?.code, g.errors?.[0]?.extensions?.field]).toEqual([name, 'BAD_USER_INPUT', 'licenseKey']);
    }
    expect(await a.app.db.prisma.license.count()).toBe(before);
    expect(await activeCustomer(a)).toBe('My Company');
    const history = await fetch(`${a.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(await as(a)) }, body: JSON.stringify({ query: '{ licenseActivations { customer activatedVia } }' }) });
    const activations = ((await history.json()) as { data: { licenseActivations: { customer: string; activatedVia: string }[] } }).data.licenseActivations;
    expect(activations.slice(0, 3)).toEqual([
      { customer: 'My Company', activatedVia: 'rest' },
      { customer: 'Second Co', activatedVia: 'graphql' },
      { customer: 'My Company', activatedVia: 'rest' },
    ]);
    expect(await activeCustomer(b)).toBe('My Company');
    // Missing or empty keys are input errors naming the field.
    for (const body of [{}, { licenseKey: '' }, { licenseKey: 42 }, { licenseKey: 'x'.repeat(9_000) }]) {
      const res = await postActivate(a, body);
      expect(res.status).toBe(400);
      expect(res.body.error.details.field).toBe('licenseKey');
    }
  });

  it('accepts the fully specified alg Ed25519 as well as EdDSA', async () => {
    const { SignJWT } = await import('jose');
    const { createPrivateKey } = await import('node:crypto');
    const key = await new SignJWT({ customer: 'My Company', plugins: ['ticketing', 'sla', 'audit'] })
      .setProtectedHeader({ alg: 'Ed25519' })
      .setIssuedAt(Math.floor(T0 / 1000))
      .setExpirationTime(Math.floor(T0 / 1000) + 365 * 86_400)
      .sign(createPrivateKey(TEST_LICENSE_KEYS.privateKeyPem));
    expect((await postActivate(a, { licenseKey: key })).status).toBe(200);
  });

  it('only admins activate over GraphQL', async () => {
    const token = await (await import('../support/harness.js')).tokenFor(a, 'OPERATOR');
    const r = await gql(a.url, ActivateLicenseDocument, { licenseKey: await testLicenseKey({ now: clock.now() }) }, bearer(token));
    expect(r.errors![0]!.extensions!.code).toBe('FORBIDDEN');
  });
});

describe('key rotation', () => {
  it('several configured keys: a kid picks its key by name or thumbprint; without kid any key may verify', async () => {
    const oldPair = generateLicenseKeyPair();
    const newPair = generateLicenseKeyPair();
    const rotated = await env.startApp({ role: 'api', clock, overrides: { LICENSE_PUBLIC_KEY: `kid: old\n${oldPair.publicKeyPem}\nkid: new\n${newPair.publicKeyPem}`.replace(/\n/g, '\\n') } });
    try {
      const ok = async (o: Parameters<typeof testLicenseKey>[0]) => (await postActivate(rotated, { licenseKey: await testLicenseKey({ now: clock.now(), ...o }) })).status;
      expect(await ok({ privateKeyPem: oldPair.privateKeyPem, kid: 'old' })).toBe(200);
      expect(await ok({ privateKeyPem: newPair.privateKeyPem, kid: 'new' })).toBe(200);
      expect(await ok({ privateKeyPem: newPair.privateKeyPem })).toBe(200); // the thumbprint as kid
      expect(await ok({ privateKeyPem: newPair.privateKeyPem, kid: 'old' })).toBe(422);
      expect(await ok({ privateKeyPem: TEST_LICENSE_KEYS.privateKeyPem, kid: 'elsewhere' })).toBe(422);
    } finally {
      await rotated.stop();
    }
  });
});

describe('expiry', () => {
  it('gating flips off at expiry on every instance, the job announces the warning and the expiry once each', async () => {
    const expiresAt = T0 + 30 * DAY_MS;
    await postActivate(a, { licenseKey: await testLicenseKey({ customer: 'Short Co', plugins: ['sla', 'ticketing'], now: clock.now(), days: 30 }) });
    const client = wsClient(b.wsUrl, { authorization: (await as(b)).authorization });
    // Live once a probe license:updated has come through it.
    const updates = await subscribeReady(client, LicenseUpdatedDocument, {}, probeOf.licenseUpdated(a), { pick: (d: LicenseUpdatedSubscription) => d.licenseUpdated });
    const seen = updates.received;

    expect(await runJob(a, 'licenses.check-expiry')).toBeNull();
    clock.set(new Date(expiresAt - 13 * DAY_MS));
    expect(await runJob(a, 'licenses.check-expiry')).toBe('EXPIRING');
    expect(await runJob(a, 'licenses.check-expiry')).toBeNull();
    for (const api of [a, b]) expect((await gql(api.url, SeedDashboardStatsDocument, {}, await as(api))).errors).toBeUndefined();
    expect((await gql(b.url, LicenseDocument, {}, await as(b))).data!.license).toMatchObject({ status: 'EXPIRING', activePlugins: ['sla', 'ticketing'] });

    clock.set(new Date(expiresAt));
    // Off at once, before any job ran: gating compares expiresAt with the clock.
    for (const api of [a, b]) {
      const r = await gql(api.url, SeedDashboardStatsDocument, {}, await as(api));
      expect(r.errors![0]!.extensions).toEqual({ code: 'LICENSE_REQUIRED', plugin: 'sla' });
      expect(r.errors![0]!.message).toMatch(/expired/);
    }
    expect(await runJob(a, 'licenses.check-expiry')).toBe('EXPIRED');
    expect(await runJob(a, 'licenses.check-expiry')).toBeNull();
    await waitFor(() => seen.length === 2, 2_000, 10);
    // Once each, positively: no check-expiry run is left (a scheduled one included), and a probe
    // published after them all has come through, so any third announcement would have too.
    await queueIdle(a, 'licenses');
    await updates.sync();
    expect(seen.map((e) => [e.action, e.license.status, e.license.activePlugins])).toEqual([
      ['EXPIRING', 'EXPIRING', ['sla', 'ticketing']],
      ['EXPIRED', 'EXPIRED', []],
    ]);
    expect(seen[0]!.message).toMatch(/expires in 13 day/);
    expect((await gql(a.url, LicenseDocument, {}, await as(a))).data!.license).toMatchObject({ customer: 'Short Co', status: 'EXPIRED', plugins: ['sla', 'ticketing'], activePlugins: [] });

    // A new license turns them back on, on both instances.
    await postActivate(a, { licenseKey: await testLicenseKey({ customer: 'Renewed Co', now: clock.now() }) });
    for (const api of [a, b]) expect((await gql(api.url, SeedDashboardStatsDocument, {}, await as(api))).errors).toBeUndefined();
    await client.dispose();
  });
});

describe('maxServices', () => {
  it('new services beyond the limit are refused; existing ones keep reporting and nothing is deleted', async () => {
    await postActivate(a, { licenseKey: await testLicenseKey({ customer: 'Small Co', now: clock.now(), maxServices: 3 }) });
    const ag = agent(a, await newAgentKey(a));
    const nodeId = 'org/limits/cluster';
    const report = (names: string[]) => ag.status({ nodeId, services: names.map((name) => ({ name, status: 'OPERATIONAL' })) });
    // The services of other tests count too.
    const already = await a.app.db.prisma.service.count();
    expect(already).toBe(0);

    const first = await report(['svc-a', 'svc-b']);
    expect(first.body).toEqual({ success: true, processed: 2, changed: 2 });
    const over = await report(['svc-a', 'svc-b', 'svc-d', 'svc-c']);
    expect(over.status).toBe(200);
    expect(over.body).toMatchObject({ success: true, processed: 3, refused: ['svc-d'], maxServices: 3 });
    expect(over.body.message).toMatch(/1 new service\(s\) refused: the license allows at most 3 services/);

    const register = await ag.register({ name: 'svc-e', nodeId });
    expect(register.status).toBe(403);
    expect(register.body.error).toMatchObject({ code: 'ERR_1004', details: { limit: 'maxServices', maxServices: 3, refused: ['svc-e'] } });
    // Registering a service that exists is an update, within any limit.
    expect((await ag.register({ name: 'svc-a', nodeId, displayName: 'Service A' })).status).toBe(200);

    // A smaller license: nothing is deleted, the existing services keep reporting.
    await postActivate(a, { licenseKey: await testLicenseKey({ customer: 'Smaller Co', now: clock.now(), maxServices: 1 }) });
    const after = await report(['svc-a', 'svc-b', 'svc-c']);
    expect(after.body).toMatchObject({ success: true, processed: 3 });
    expect(after.body.refused).toBeUndefined();
    expect(await a.app.db.prisma.service.count()).toBe(3);
    expect((await report(['svc-z'])).body).toMatchObject({ processed: 0, refused: ['svc-z'] });

    // Without a limit, anything goes again.
    await postActivate(a, { licenseKey: await testLicenseKey({ customer: 'Big Co', now: clock.now() }) });
    expect((await report(['svc-z'])).body).toEqual({ success: true, processed: 1, changed: 1 });
  });
});

describe('setLicensePublicKey', () => {
  it('a license of a fresh key pair is refused until an admin sets its public key; then every instance activates it', async () => {
    const dev = generateLicenseKeyPair();
    // An instance with no LICENSE_PUBLIC_KEY at all: the key set at run time is all it has.
    const bare = await env.startApp({ role: 'api', clock, overrides: { LICENSE_PUBLIC_KEY: '' } });
    try {
      const licenseKey = await testLicenseKey({ customer: 'Dev Co', plugins: ['ticketing'], now: clock.now(), privateKeyPem: dev.privateKeyPem });
      expect((await postActivate(b, { licenseKey })).body.error.details.reason).toBe('unknown_kid');
      expect((await postActivate(bare, { licenseKey })).body.error.details.reason).toBe('no_public_key');

      const set = (publicKey: string, auth: { authorization: string }) => gql(a.url, SetLicensePublicKeyDocument, { publicKey }, auth);
      // tokenFor makes the operator once; the fake clock has moved since, so log in afresh.
      await tokenFor(a, 'OPERATOR');
      expect((await set(dev.publicKeyPem, await as(a, 'operator@opsgraph.test', 'a-long-enough-password'))).errors![0]!.extensions!.code).toBe('FORBIDDEN');
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const invalid = ['not a key', '/etc/hostname', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', rsa, dev.privateKeyPem];
      for (const publicKey of invalid) {
        const r = await set(publicKey, await as(a));
        expect([publicKey.slice(0, 30), r.errors?.[0]?.extensions?.code, r.errors?.[0]?.extensions?.field]).toEqual([publicKey.slice(0, 30), 'BAD_USER_INPUT', 'publicKey']);
        expect(r.errors![0]!.message).toMatch(/^publicKey: /);
        expect(r.errors![0]!.message).not.toContain(dev.privateKeyPem.split('\n')[1]);
      }
      expect((await postActivate(b, { licenseKey })).status).toBe(422);

      const ok = await set(dev.publicKeyPem, await as(a));
      expect(ok.errors).toBeUndefined();
      expect(ok.data!.setLicensePublicKey).toBe(true);
      // Set on a, used by b and by the instance without LICENSE_PUBLIC_KEY, at once.
      const res = await postActivate(b, { licenseKey });
      expect(res.body).toEqual({ success: true, message: 'License activated', customer: 'Dev Co', plugins: ['ticketing'] });
      expect((await postActivate(bare, { licenseKey })).status).toBe(200);
      // LICENSE_PUBLIC_KEY keeps verifying alongside.
      expect((await postActivate(b, { licenseKey: await testLicenseKey({ customer: 'My Company', now: clock.now() }) })).status).toBe(200);
      const history = await a.app.db.prisma.license.findFirst({ where: { customer: 'Dev Co' }, orderBy: { seq: 'desc' } });
      expect(history?.kid).toBe(dev.thumbprint);

      const entries = await a.app.db.prisma.auditEntry.findMany({ where: { action: 'license.set_public_key' } });
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ actorType: 'USER', resourceType: 'license_public_key', resourceId: dev.thumbprint, before: { keys: [] }, after: { keys: [{ kid: null, thumbprint: dev.thumbprint }] } });

      // Empty text removes it: the dev pair's licenses are refused again.
      expect((await set('', await as(a))).data!.setLicensePublicKey).toBe(true);
      expect((await postActivate(b, { licenseKey })).body.error.details.reason).toBe('unknown_kid');
      const removed = await a.app.db.prisma.auditEntry.findFirst({ where: { action: 'license.set_public_key' }, orderBy: { seq: 'desc' } });
      expect(removed).toMatchObject({ resourceId: null, before: { keys: [{ thumbprint: dev.thumbprint }] }, after: { keys: [] } });
      // Nothing secret reached the audit log, and no key text at all.
      const text = JSON.stringify(await a.app.db.prisma.auditEntry.findMany({ where: { action: 'license.set_public_key' } }), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      expect(text).not.toContain('BEGIN');
    } finally {
      await bare.stop();
    }
  });

  it('keys may be named: a kid line above the block', async () => {
    const dev = generateLicenseKeyPair();
    expect((await gql(a.url, SetLicensePublicKeyDocument, { publicKey: `kid: dev-2026\n${dev.publicKeyPem}` }, await as(a))).data!.setLicensePublicKey).toBe(true);
    const named = await testLicenseKey({ customer: 'Named Co', now: clock.now(), privateKeyPem: dev.privateKeyPem, kid: 'dev-2026' });
    expect((await postActivate(b, { licenseKey: named })).status).toBe(200);
    expect((await a.app.db.prisma.license.findFirst({ orderBy: { seq: 'desc' } }))?.kid).toBe('dev-2026');
    await gql(a.url, SetLicensePublicKeyDocument, { publicKey: '' }, await as(a));
  });
});

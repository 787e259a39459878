import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryHash, linkIsSound, type ChainCursor } from '../../src/lib/audit-chain.js';
import {
  AddTicketCommentDocument,
  AuditLogDocument,
  CreateTicketDocument,
  DeleteTicketDocument,
  UpdateTicketDocument,
  CreateApiKeyDocument,
  CreateUserDocument,
  LogoutDocument,
  RevokeApiKeyDocument,
  SlaGroupsDocument,
  UpdateSlaGroupDocument,
  UpdateUserDocument,
  VerifyAuditChainDocument,
} from '../generated/graphql.js';
import { agent } from '../support/agent.js';
import { FakeClock } from '../support/fake-clock.js';
import { ADMIN, bearer, createTestEnv, gql, login, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';
import { activateTestLicense } from '../support/license.js';

const clock = new FakeClock('2026-02-07T14:00:00.000Z');
let env: TestEnv;
let api: TestApp;
let sql: pg.Client;
let admin: { token: string; refreshToken: string; userId: string };

/** Every plaintext secret this file hands to Opsgraph; none may ever appear in the audit table. */
const secrets: string[] = [ADMIN.password];

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'all', clock, overrides: { RATE_LIMIT_AGENT: '100000', RATE_LIMIT_STANDARD: '100000', AUDIT_RETENTION_DAYS: '365' } });
  sql = new pg.Client({ connectionString: env.databaseUrl });
  await sql.connect();
  admin = await login(api.url, ADMIN.email, ADMIN.password);
  secrets.push(admin.refreshToken);
});
afterAll(async () => {
  await sql?.end();
  await env.cleanup();
});

const asAdmin = (requestId?: string) => ({ ...bearer(admin.token), ...(requestId ? { 'x-request-id': requestId } : {}) });

async function entries(filter: Record<string, string> = {}) {
  const r = await gql(api.url, AuditLogDocument, { filter, page: { limit: 100 } }, asAdmin());
  expect(r.errors).toBeUndefined();
  return r.data!.auditLog.items;
}
const count = async () => Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM "AuditEntry"')).rows[0]!.n);
const verify = async () => (await gql(api.url, VerifyAuditChainDocument, {}, asAdmin())).data!.verifyAuditChain;

async function rest(path: string, headers: Record<string, string> = asAdmin()) {
  const res = await fetch(`${api.url}/api/v1${path}`, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

let keyId: string;
let keySecret: string;

describe('the audit plugin', () => {
  it('gates reading only: the log is written without a license, and read once one names audit', async () => {
    expect(await count()).toBeGreaterThan(0);
    const denied = await gql(api.url, AuditLogDocument, {}, asAdmin());
    expect(denied.errors?.[0]?.extensions).toMatchObject({ code: 'LICENSE_REQUIRED', plugin: 'audit' });
    const rest403 = await rest('/audit');
    expect(rest403.status).toBe(403);
    expect(JSON.parse(rest403.text).error).toMatchObject({ code: 'ERR_1004', details: { plugin: 'audit' } });

    // Activated anonymously over REST: recorded with the caller's address, the key itself never.
    // Long enough to outlive the retention test, which moves the clock 400 days on.
    const licenseKey = await activateTestLicense(api, { now: clock.now(), plugins: ['audit', 'ticketing'], days: 1000 });
    secrets.push(licenseKey);
    const [entry] = await entries({ action: 'license.activate' });
    expect(entry).toMatchObject({ actorType: 'SYSTEM', actorId: 'anonymous', resourceType: 'license' });
    expect(entry!.ip).toMatch(/127\.0\.0\.1/);
    expect(entry!.after).toMatchObject({ customer: 'Test Customer', plugins: ['audit', 'ticketing'], via: 'rest' });
  });
});

describe('what is recorded, and by whom', () => {
  it('the first admin, created at first start by the system', async () => {
    const [first] = await entries({ action: 'user.create', resourceId: admin.userId });
    expect(first).toMatchObject({ actorType: 'SYSTEM', actorId: 'bootstrap', resourceType: 'user', seq: '1', before: null });
    expect(first!.after).toMatchObject({ email: ADMIN.email, role: 'ADMIN' });
  });

  it('a login, by the user who logged in, with address and request id', async () => {
    const [entry] = await entries({ action: 'auth.login', actorId: admin.userId });
    expect(entry).toMatchObject({ actorType: 'USER', actorId: admin.userId, resourceType: 'session' });
    expect(entry!.ip).toMatch(/127\.0\.0\.1/);
    expect(entry!.requestId).toBeTruthy();
  });

  it('user changes through GraphQL, by the admin, with before and after, the request id, and a redacted password', async () => {
    const password = 'first-password-of-dave';
    const created = await gql(api.url, CreateUserDocument, { input: { email: 'dave@example.com', password, role: 'VIEWER' } }, asAdmin('req-create-dave'));
    const daveId = created.data!.createUser.id;
    secrets.push(password);
    const [create] = await entries({ resourceId: daveId, action: 'user.create' });
    expect(create).toMatchObject({ actorType: 'USER', actorId: admin.userId, requestId: 'req-create-dave', resourceType: 'user', before: null });
    expect(create!.after).toMatchObject({ id: daveId, email: 'dave@example.com', role: 'VIEWER', disabled: false });

    const newPassword = 'second-password-of-dave';
    await gql(api.url, UpdateUserDocument, { id: daveId, input: { role: 'OPERATOR', password: newPassword } }, asAdmin('req-update-dave'));
    secrets.push(newPassword);
    const [update] = await entries({ resourceId: daveId, action: 'user.update' });
    expect(update).toMatchObject({ actorType: 'USER', actorId: admin.userId, requestId: 'req-update-dave' });
    expect(update!.before).toMatchObject({ role: 'VIEWER' });
    expect(update!.after).toMatchObject({ role: 'OPERATOR', password: '[REDACTED]' });
  });

  it('a change that fails records nothing: the entry is in the transaction of the change', async () => {
    const before = await count();
    const dup = await gql(api.url, CreateUserDocument, { input: { email: 'dave@example.com', password: 'another-long-password', role: 'VIEWER' } }, asAdmin());
    expect(dup.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const demote = await gql(api.url, UpdateUserDocument, { id: admin.userId, input: { role: 'VIEWER' } }, asAdmin());
    expect(demote.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(await count()).toBe(before);
  });

  it('API keys created and revoked through GraphQL; the secret is never in the entry', async () => {
    const created = await gql(api.url, CreateApiKeyDocument, { input: { name: 'cluster one', scopes: [] } }, asAdmin());
    keyId = created.data!.createApiKey.apiKey.id;
    keySecret = created.data!.createApiKey.secret;
    secrets.push(keySecret);
    const [create] = await entries({ resourceId: keyId, action: 'apikey.create' });
    expect(create).toMatchObject({ actorType: 'USER', actorId: admin.userId, resourceType: 'api_key' });
    expect(create!.after).toMatchObject({ id: keyId, name: 'cluster one', revokedAt: null });

    const spare = await gql(api.url, CreateApiKeyDocument, { input: { name: 'spare' } }, asAdmin());
    const spareId = spare.data!.createApiKey.apiKey.id;
    secrets.push(spare.data!.createApiKey.secret);
    await gql(api.url, RevokeApiKeyDocument, { id: spareId }, asAdmin());
    // Revoking again changes nothing and records nothing.
    await gql(api.url, RevokeApiKeyDocument, { id: spareId }, asAdmin());
    const revokes = await entries({ resourceId: spareId, action: 'apikey.revoke' });
    expect(revokes).toHaveLength(1);
    expect(revokes[0]!.before).toMatchObject({ revokedAt: null });
    expect((revokes[0]!.after as { revokedAt: string | null }).revokedAt).toBeTruthy();
  });

  it('agent writes through REST, by the API key: SLA groups, registration and backup reports; telemetry is not audited', async () => {
    const ag = agent(api, keySecret);
    const report = (tier: string) => ({
      nodeId: 'org/cluster1',
      services: [{ name: 'api', status: 'OPERATIONAL', slaGroup: 'payments' }],
      slaGroups: [{ name: 'payments', tier }],
    });
    expect((await ag.status(report('standard'))).status).toBe(200);
    const [created] = await entries({ action: 'slagroup.create' });
    expect(created).toMatchObject({ actorType: 'API_KEY', actorId: keyId, resourceType: 'sla_group', before: null });
    expect(created!.after).toMatchObject({ name: 'payments', tier: 'standard' });

    // Statuses and heartbeats that change no configuration record nothing, however many.
    const before = await count();
    expect((await ag.heartbeat({ nodeId: 'org/cluster1' })).status).toBe(200);
    for (const status of ['DEGRADED', 'OPERATIONAL']) {
      expect((await ag.status({ ...report('standard'), services: [{ name: 'api', status, slaGroup: 'payments' }] })).status).toBe(200);
    }
    expect(await count()).toBe(before);
    // A report that changes a group's tier (its SLA target) is a configuration change.
    expect((await ag.status(report('high'))).status).toBe(200);
    const [retiered] = await entries({ action: 'slagroup.update' });
    expect(retiered).toMatchObject({ actorType: 'API_KEY', actorId: keyId, resourceId: created!.resourceId });
    expect(retiered!.before).toMatchObject({ tier: 'standard' });
    expect(retiered!.after).toMatchObject({ tier: 'high' });

    const reg = { name: 'db', nodeId: 'org/cluster1', displayName: 'Database', operations: { backup: { expected: true, maxAgeDays: 1 } } };
    expect((await ag.register(reg)).status).toBe(201);
    // The same registration again (an agent restarting) changes nothing: no entry.
    expect((await ag.register(reg)).status).toBe(200);
    expect((await ag.register({ ...reg, displayName: 'Main database' })).status).toBe(200);
    const service = await entries({ resourceType: 'service' });
    expect(service.map((e) => e.action)).toEqual(['service.update', 'service.create']);
    for (const e of service) expect(e).toMatchObject({ actorType: 'API_KEY', actorId: keyId });
    expect(service[0]!.before).toMatchObject({ displayName: 'Database' });
    expect(service[0]!.after).toMatchObject({ displayName: 'Main database' });

    const backup = { service: 'db', status: 'success', reportId: 'nightly-1', sizeBytes: 1024 };
    expect((await ag.backup(backup)).status).toBe(200);
    expect((await ag.backup({ ...backup, message: 'a retry with the same reportId' })).status).toBe(200);
    const backups = await entries({ action: 'backup.report' });
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatchObject({ actorType: 'API_KEY', actorId: keyId, resourceType: 'backup_report', resourceId: 'nightly-1' });
    expect((backups[0]!.after as { serviceIds: string[] }).serviceIds).toHaveLength(1);
  });

  it('tickets: created, updated, commented and deleted by the operator who did it, with before and after', async () => {
    const operator = bearer(await tokenFor(api, 'OPERATOR'));
    const me = (await sql.query<{ id: string }>(`SELECT id FROM "User" WHERE email = 'operator@opsgraph.test'`)).rows[0]!.id;
    const created = await gql(api.url, CreateTicketDocument, { input: { title: 'Disk full on db-1', priority: 'HIGH' } }, operator);
    const id = created.data!.createTicket.id;
    await gql(api.url, UpdateTicketDocument, { id, input: { status: 'IN_PROGRESS' } }, operator);
    await gql(api.url, AddTicketCommentDocument, { id, input: { body: 'Rotating logs now' } }, operator);
    await gql(api.url, DeleteTicketDocument, { id }, operator);
    const log = (await entries({ resourceType: 'ticket', resourceId: id })).reverse();
    expect(log.map((e) => [e.action, e.actorType, e.actorId])).toEqual([
      ['ticket.create', 'USER', me],
      ['ticket.update', 'USER', me],
      ['ticket.comment', 'USER', me],
      ['ticket.delete', 'USER', me],
    ]);
    expect(log[1]!.before).toMatchObject({ status: 'OPEN' });
    expect(log[1]!.after).toMatchObject({ status: 'IN_PROGRESS' });
    expect(log[3]!.before).toMatchObject({ title: 'Disk full on db-1' });
  });

  it('SLA group changes through GraphQL', async () => {
    const groups = await gql(api.url, SlaGroupsDocument, {}, asAdmin());
    const group = groups.data!.slaGroups.find((g) => g.name === 'payments')!;
    const r = await gql(api.url, UpdateSlaGroupDocument, { id: group.id, input: { displayName: 'Payments, "EU"\nprimary', targetUptime: 99.95 } }, asAdmin('req-group'));
    expect(r.errors).toBeUndefined();
    const [e] = await entries({ action: 'slagroup.update', actorId: admin.userId });
    expect(e).toMatchObject({ actorType: 'USER', actorId: admin.userId, resourceType: 'sla_group', resourceId: group.id, requestId: 'req-group' });
    expect(e!.before).toMatchObject({ tier: 'high', targetUptime: null });
    expect(e!.after).toMatchObject({ displayName: 'Payments, "EU"\nprimary', targetUptime: 99.95 });
  });

  it('a logout that ended a session', async () => {
    const s = await login(api.url, 'dave@example.com', 'second-password-of-dave');
    secrets.push(s.refreshToken);
    expect((await gql(api.url, LogoutDocument, { refreshToken: s.refreshToken })).data?.logout).toBe(true);
    expect((await gql(api.url, LogoutDocument, { refreshToken: s.refreshToken })).data?.logout).toBe(true);
    const out = await entries({ action: 'auth.logout' });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ actorType: 'USER', actorId: s.userId, resourceType: 'session' });
  });

  it('entries cannot be updated, even by hand', async () => {
    await expect(sql.query(`UPDATE "AuditEntry" SET action = 'x' WHERE seq = 1`)).rejects.toThrow(/never updated/);
  });
});

describe('secrets', () => {
  it('no password, API key secret, refresh token, password hash or key hash appears anywhere in the table', async () => {
    const hashes = await sql.query<{ h: string }>(`SELECT "passwordHash" AS h FROM "User" UNION ALL SELECT "secretHash" FROM "ApiKey" UNION ALL SELECT "tokenHash" FROM "RefreshToken"`);
    const all = [...secrets, ...hashes.rows.map((r) => r.h)];
    expect(all.length).toBeGreaterThan(10);
    const { rows } = await sql.query<{ text: string }>(`SELECT string_agg(t::text, E'\\n') AS text FROM "AuditEntry" t`);
    const text = rows[0]!.text;
    expect(text.length).toBeGreaterThan(1000);
    for (const s of all) expect([s, text.includes(s)]).toEqual([s, false]);
  });
});

describe('reading and export', () => {
  it('GET /api/v1/audit answers a page in the envelope, filtered, and refuses bad parameters naming them', async () => {
    const r = await rest(`/audit?action=user.create&limit=2`);
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text) as { success: boolean; data: { action: string }[]; pagination: { total: number; limit: number } };
    expect(body.success).toBe(true);
    expect(body.data.every((e) => e.action === 'user.create')).toBe(true);
    const users = Number((await sql.query<{ n: string }>(`SELECT count(*) AS n FROM "AuditEntry" WHERE action = 'user.create'`)).rows[0]!.n);
    expect(body.pagination).toMatchObject({ limit: 2, total: users });

    for (const [query, field] of [
      ['format=xml', 'format'],
      ['since=yesterday', 'since'],
      ['limit=1000', 'limit'],
      ['actor=someone', 'actor'],
    ] as const) {
      const bad = await rest(`/audit?${query}`);
      expect([query, bad.status]).toEqual([query, 400]);
      expect(JSON.parse(bad.text).error.details.field).toBe(field);
    }
  });

  it('only admins read it', async () => {
    const created = await gql(api.url, CreateUserDocument, { input: { email: 'olive@example.com', password: 'olive-long-password', role: 'OPERATOR' } }, asAdmin());
    expect(created.errors).toBeUndefined();
    secrets.push('olive-long-password');
    const olive = await login(api.url, 'olive@example.com', 'olive-long-password');
    expect((await rest('/audit', bearer(olive.token))).status).toBe(403);
    expect((await rest('/audit', bearer(keySecret))).status).toBe(403);
    expect((await rest('/audit', {})).status).toBe(401);
  });

  it('JSON lines: every entry oldest first, as a download, each verifiable offline', async () => {
    const r = await rest('/audit?format=jsonl');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="opsgraph-audit-\d{8}T\d{6}Z\.jsonl"$/);
    const lines = r.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Parameters<typeof entryHash>[0] & { hash: string; at: string });
    expect(lines).toHaveLength(await count());
    let previous: ChainCursor | null = null;
    for (const line of lines) {
      expect(linkIsSound(previous, { ...line, at: new Date(line.at) })).toBe(true);
      previous = line;
    }
    const filtered = await rest('/audit?format=jsonl&actorId=' + keyId);
    expect(filtered.text.trimEnd().split('\n').every((l) => JSON.parse(l).actorId === keyId)).toBe(true);
  });

  it('CSV: a header, one row per entry, commas, quotes and line breaks escaped', async () => {
    const r = await rest(`/audit?format=csv&action=slagroup.update&actorId=${admin.userId}`);
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(r.headers.get('content-disposition')).toMatch(/\.csv"$/);
    const rows = parseCsv(r.text);
    expect(rows[0]).toEqual(['seq', 'id', 'at', 'actorType', 'actorId', 'action', 'resourceType', 'resourceId', 'ip', 'requestId', 'before', 'after', 'prevHash', 'hash']);
    expect(rows).toHaveLength(2);
    const row = Object.fromEntries(rows[0]!.map((h, i) => [h, rows[1]![i]]));
    expect(row.action).toBe('slagroup.update');
    expect(JSON.parse(row.after!).displayName).toBe('Payments, "EU"\nprimary');

    const all = parseCsv((await rest('/audit?format=csv')).text);
    expect(all).toHaveLength((await count()) + 1);
  });
});

describe('the chain', () => {
  it('stays one unbroken chain under concurrent writes from both kinds of transaction', async () => {
    const before = await count();
    const ag = agent(api, keySecret);
    const results = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) =>
        gql(api.url, CreateUserDocument, { input: { email: `parallel${i}@example.com`, password: 'parallel-password-1', role: 'VIEWER' } }, asAdmin()),
      ),
      ...Array.from({ length: 5 }, (_, i) => ag.register({ name: `svc${i}`, nodeId: 'org/cluster1' })),
      ...Array.from({ length: 5 }, (_, i) => ag.backup({ service: 'db', status: 'success', reportId: `parallel-${i}` })),
    ]);
    for (const r of results) expect('errors' in r ? r.errors : (r as { status: number }).status < 300 ? undefined : r).toBeUndefined();
    expect(await count()).toBe(before + 30);
    const seqs = (await sql.query<{ seq: string }>('SELECT seq::text AS seq FROM "AuditEntry" ORDER BY "AuditEntry".seq')).rows.map((r) => Number(r.seq));
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(await verify()).toEqual({ ok: true, checked: seqs.length, firstBrokenId: null });
  });

  it('retention prunes the oldest entries; what is left still verifies', async () => {
    const before = await count();
    clock.advance(400 * 86_400_000);
    admin = await login(api.url, ADMIN.email, ADMIN.password);
    const job = await api.app.jobs.enqueueByName('audit.prune', {});
    await waitFor(async () => ['completed', 'failed'].includes(await job.getState()));
    expect(await job.getState()).toBe('completed');
    // Everything older than 365 days went; the login just now (and the newest entry) stayed.
    const { rows } = await sql.query<{ n: string; first: string }>('SELECT count(*) AS n, min(seq)::text AS first FROM "AuditEntry"');
    expect(Number(rows[0]!.n)).toBe(1);
    expect(Number(rows[0]!.first)).toBe(before + 1);
    await gql(api.url, CreateUserDocument, { input: { email: 'after-prune@example.com', password: 'after-prune-password', role: 'VIEWER' } }, asAdmin());
    expect(await verify()).toEqual({ ok: true, checked: 2, firstBrokenId: null });
  });

  it('changing one stored entry by SQL makes verifyAuditChain name it; removing one names the next', async () => {
    for (let i = 0; i < 5; i++) {
      await gql(api.url, CreateUserDocument, { input: { email: `late${i}@example.com`, password: 'late-password-123', role: 'VIEWER' } }, asAdmin());
    }
    const ids = (await sql.query<{ id: string }>('SELECT id FROM "AuditEntry" ORDER BY seq')).rows.map((r) => r.id);
    expect(ids.length).toBe(7);
    expect(await verify()).toMatchObject({ ok: true, checked: 7 });

    // The trigger refuses updates; someone with the table owner's rights can switch it off. The chain still tells.
    await sql.query('ALTER TABLE "AuditEntry" DISABLE TRIGGER "AuditEntry_no_update"');
    await sql.query(`UPDATE "AuditEntry" SET after = jsonb_set(after, '{role}', '"ADMIN"') WHERE id = $1`, [ids[4]]);
    await sql.query('ALTER TABLE "AuditEntry" ENABLE TRIGGER "AuditEntry_no_update"');
    expect(await verify()).toEqual({ ok: false, checked: 5, firstBrokenId: ids[4] });

    await sql.query('DELETE FROM "AuditEntry" WHERE id = $1', [ids[2]]);
    expect(await verify()).toEqual({ ok: false, checked: 3, firstBrokenId: ids[3] });
  });
});

/** RFC 4180, the whole file. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), (i += 2);
      else if (c === '"') (quoted = false), i++;
      else (cell += c), i++;
    } else if (c === '"') (quoted = true), i++;
    else if (c === ',') row.push(cell), (cell = ''), i++;
    else if (c === '\r' && text[i + 1] === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), (i += 2);
    else (cell += c), i++;
  }
  return rows;
}

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, readdir, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Header, Pack, ReadEntry } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_COMPLETED, BACKUP_FAILED } from '../../src/modules/backups/backups.events.js';
import { SLA_ALERT } from '../../src/modules/sla/sla.events.js';
import { agent, newAgentKey } from '../support/agent.js';
import { FakeClock } from '../support/fake-clock.js';
import { bearer, createTestEnv, listenOnBus, login, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';

let env: TestEnv;
let api: TestApp;
let root: string;
let source: string;
let restores: string;
let backupDir: string;
let auth: Record<string, string>;
let key: string;
const clock = new FakeClock('2026-12-01T10:00:00.000Z');

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsgraph-backups-'));
  source = path.join(root, 'sources', 'site');
  restores = path.join(root, 'restores');
  backupDir = path.join(root, 'archives');
  await mkdir(source, { recursive: true });
  env = await createTestEnv();
  api = await env.startApp({
    role: 'all',
    clock,
    overrides: {
      BACKUP_SOURCES: source,
      BACKUP_DIR: backupDir,
      BACKUP_RESTORE_DIR: restores,
      BACKUP_WAIT_SECONDS: '30',
      RATE_LIMIT_BACKUP_OPS: '100000',
      RATE_LIMIT_AGENT: '100000',
    },
  });
  auth = bearer(await tokenFor(api, 'OPERATOR'));
  key = await newAgentKey(api);
});
afterAll(async () => {
  await env.cleanup();
  await rm(root, { recursive: true, force: true });
});

type Json = Record<string, any>;
let signedInAt = clock.now().getTime();
async function call(method: string, url: string, body?: unknown): Promise<{ status: number; body: Json }> {
  // The fake clock moves days at a time: an access token of before has expired by then.
  if (clock.now().getTime() - signedInAt > 600_000) {
    auth = bearer((await login(api.url, 'operator@opsgraph.test', 'a-long-enough-password')).token);
    signedInAt = clock.now().getTime();
  }
  const res = await fetch(`${api.url}/api/v1${url}`, {
    method,
    headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}
const create = (body: unknown) => call('POST', '/backups', body);

/** sha256 of every file under `dir`, by path relative to it. */
async function hashes(dir: string, under = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(path.join(dir, under), { withFileTypes: true })) {
    const rel = under ? `${under}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, await hashes(dir, rel));
    else out[rel] = createHash('sha256').update(await readFile(path.join(dir, rel))).digest('hex');
  }
  return out;
}

async function put(rel: string, content: string | Buffer) {
  await mkdir(path.dirname(path.join(source, rel)), { recursive: true });
  await writeFile(path.join(source, rel), content);
}

/** Removes the source tree's contents, for the next scenario. */
async function resetSource() {
  for (const n of await readdir(source)) await rm(path.join(source, n), { recursive: true, force: true });
}

describe('server-run backups', () => {
  it('refuses an incremental before any completed backup, with 409', async () => {
    const r = await create({ type: 'incremental' });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('ERR_1005');
  });

  it('full, then changes and deletions, then an incremental: a restore reproduces the later tree byte for byte', async () => {
    await put('a.txt', 'alpha\n'.repeat(1_000));
    await put('docs/b.md', 'bravo');
    await put('docs/deep/c.bin', randomBytes(200_000));
    await put('gone.txt', 'will be deleted');
    await put('docs/old/d.txt', 'a directory that goes');
    await put('skip.tmp', 'excluded anywhere');
    await put('docs/x.tmp', 'excluded at depth too');
    await put('cache/blob', 'an excluded directory');
    const completed = listenOnBus(api, BACKUP_COMPLETED, () => true);

    const full = await create({ type: 'full', compression: 6, exclude: ['*.tmp', 'cache'], metadata: { description: 'first' } });
    expect(full.status).toBe(201);
    expect(full.body.data).toMatchObject({ type: 'full', status: 'completed', metadata: { description: 'first' }, parentId: null, exclude: ['*.tmp', 'cache'] });
    expect(full.body.data.stats).toMatchObject({ fileCount: 5 });
    expect(full.body.data.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
    const archive = full.body.data.location as string;
    expect(path.dirname(archive)).toBe(backupDir);
    expect(`sha256:${createHash('sha256').update(await readFile(archive)).digest('hex')}`).toBe(full.body.data.checksum);
    expect((await completed.heard()).backup.id).toBe(full.body.data.id);

    // Changes: one file edited, one added, one deleted, a directory removed; one file left alone.
    await appendFile(path.join(source, 'docs/b.md'), ' changed');
    await utimes(path.join(source, 'docs/b.md'), new Date(), new Date(Date.now() + 5_000));
    await put('new/e.txt', 'echo');
    await rm(path.join(source, 'gone.txt'));
    await rm(path.join(source, 'docs/old'), { recursive: true });
    await put('later.tmp', 'still excluded: the incremental keeps its parent exclusions');

    const inc = await create({ type: 'incremental', compression: 6 });
    expect(inc.status).toBe(201);
    expect(inc.body.data).toMatchObject({ type: 'incremental', status: 'completed', parentId: full.body.data.id, exclude: ['*.tmp', 'cache'] });
    // Only what changed: b.md and e.txt.
    expect(inc.body.data.stats.fileCount).toBe(2);
    const manifest = await api.app.db.prisma.backupFile.findMany({ where: { backupId: inc.body.data.id }, orderBy: { path: 'asc' } });
    expect(manifest.filter((m) => m.deleted).map((m) => m.path)).toEqual(['site/docs/old', 'site/docs/old/d.txt', 'site/gone.txt']);

    const restored = await call('POST', `/backups/${inc.body.data.id}/restore`, {});
    expect(restored.status).toBe(200);
    expect(restored.body.data).toMatchObject({ restoredFiles: 4, errors: [] });
    const target = restored.body.data.target as string;
    expect(path.dirname(target)).toBe(restores);
    const expected = await hashes(source);
    for (const k of Object.keys(expected)) if (k.endsWith('.tmp') || k.startsWith('cache/')) delete expected[k];
    expect(await hashes(path.join(target, 'site'))).toEqual(expected);
    expect(existsSync(path.join(target, 'site/gone.txt'))).toBe(false);
    expect(existsSync(path.join(target, 'site/docs/old'))).toBe(false);

    // Restoring the full gives the earlier tree: gone.txt is back.
    const first = await call('POST', `/backups/${full.body.data.id}/restore`, {});
    expect(first.body.data.restoredFiles).toBe(5);
    expect(existsSync(path.join(first.body.data.target, 'site/gone.txt'))).toBe(true);

    // Deep verification passes; an incremental needs its parent, so the parent cannot go first.
    expect((await call('POST', `/backups/${inc.body.data.id}/verify`, { deep: true })).body.data).toMatchObject({ valid: true, checksumMatch: true, errors: [] });
    const blocked = await call('DELETE', `/backups/${full.body.data.id}`);
    expect(blocked.status).toBe(409);
    expect(blocked.body.error.details.dependents).toEqual([inc.body.data.id]);

    // Lists, filters and stats.
    const list = await call('GET', '/backups?type=incremental&limit=10');
    expect(list.status).toBe(200);
    expect(list.body.data.map((b: Json) => b.id)).toEqual([inc.body.data.id]);
    expect(list.body.pagination).toMatchObject({ page: 1, limit: 10, total: 1, pages: 1 });
    const bySize = await call('GET', '/backups?sort=size&order=asc&type=all');
    expect(bySize.body.data.map((b: Json) => b.id)).toEqual([inc.body.data.id, full.body.data.id]);
    const stats = await call('GET', '/backups/stats');
    expect(stats.body.data).toMatchObject({ totalBackups: 2, fullBackups: 1, incrementalBackups: 1 });
    expect(stats.body.data.compressedStorage).toBe(full.body.data.stats.compressedSize + inc.body.data.stats.compressedSize);

    // The chain goes newest first; keepMetadata keeps the record without its archive.
    expect((await call('DELETE', `/backups/${inc.body.data.id}?keepMetadata=true`)).status).toBe(204);
    expect(existsSync(inc.body.data.location)).toBe(false);
    expect((await call('GET', `/backups/${inc.body.data.id}`)).body.data).toMatchObject({ location: null, deletedAt: expect.any(String) });
    expect((await call('DELETE', `/backups/${full.body.data.id}`)).status).toBe(204);
    expect((await call('GET', `/backups/${full.body.data.id}`)).status).toBe(404);
    expect(existsSync(archive)).toBe(false);

    const audit = await api.app.db.prisma.auditEntry.findMany({ where: { resourceType: 'backup' }, select: { action: true } });
    expect(new Set(audit.map((a) => a.action))).toEqual(new Set(['backup.create', 'backup.restore', 'backup.delete']));
  }, 60_000);

  it('gzip level 0 stores, level 9 compresses', async () => {
    await resetSource();
    await put('text.log', 'the same line again and again\n'.repeat(20_000));
    const stored = await create({ type: 'full', compression: 0 });
    const packed = await create({ type: 'full', compression: 9 });
    const original = stored.body.data.stats.originalSize as number;
    expect(stored.body.data.stats.compressedSize).toBeGreaterThan(original);
    expect(packed.body.data.stats.compressedSize).toBeLessThan(original / 50);
    expect(packed.body.data.stats.compressionRatio).toBeGreaterThan(98);
  });

  it('a corrupted archive fails verification with ERR_2003, and restore refuses it', async () => {
    await resetSource();
    await put('data.bin', randomBytes(100_000));
    const b = (await create({ type: 'full' })).body.data;
    const bytes = await readFile(b.location);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await writeFile(b.location, bytes);
    const v = await call('POST', `/backups/${b.id}/verify`, { deep: true });
    expect(v.status).toBe(422);
    expect(v.body.error).toMatchObject({ code: 'ERR_2003', details: { valid: false, checksumMatch: false } });
    expect((await call('GET', `/backups/${b.id}`)).body.data.verification).toMatchObject({ status: 'invalid' });
    const r = await call('POST', `/backups/${b.id}/restore`, {});
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('ERR_2003');
    expect(await readdir(restores)).not.toContain(expect.stringContaining(b.id));
  });

  it('a crafted archive (../, absolute path, links) writes nothing outside the target', async () => {
    await resetSource();
    await put('ok.txt', 'fine');
    const b = (await create({ type: 'full' })).body.data;
    const escape = `opsgraph-escape-${randomBytes(4).toString('hex')}.txt`;
    const pack = new Pack({ gzip: true, preservePaths: true });
    const chunks: Buffer[] = [];
    pack.on('data', (c: Buffer) => chunks.push(c));
    const done = new Promise<void>((r) => pack.on('end', () => r()));
    const add = (h: ConstructorParameters<typeof Header>[0], body?: string) => {
      const e = new ReadEntry(new Header({ mode: 0o644, mtime: new Date(), size: body ? Buffer.byteLength(body) : 0, ...h }));
      pack.add(e);
      if (body) e.write(Buffer.from(body));
      e.end();
    };
    add({ path: 'site/', type: 'Directory', mode: 0o755 });
    add({ path: 'site/ok.txt', type: 'File' }, 'fine');
    add({ path: `../${escape}`, type: 'File' }, 'up one');
    add({ path: `site/../../${escape}`, type: 'File' }, 'up two');
    add({ path: `${path.join(root, escape)}`, type: 'File' }, 'absolute');
    add({ path: 'site/link', type: 'SymbolicLink', linkpath: root });
    add({ path: 'site/hard', type: 'Link', linkpath: '/etc/hostname' });
    pack.end();
    await done;
    await writeFile(b.location, Buffer.concat(chunks));

    const target = path.join(restores, 'crafted');
    const r = await call('POST', `/backups/${b.id}/restore`, { target, verify: false });
    expect(r.status).toBe(200);
    expect(r.body.data.restoredFiles).toBe(1);
    const refused = (r.body.data.errors as string[]).join('\n');
    expect(refused).toMatch(/\.\.\/opsgraph-escape.*a "\.\." segment/);
    expect(refused).toMatch(/an absolute path/);
    expect(refused).toMatch(/site\/link: refused: a SymbolicLink entry/);
    expect(refused).toMatch(/site\/hard: refused: a Link entry/);
    expect(await readFile(path.join(target, 'site/ok.txt'), 'utf8')).toBe('fine');
    for (const p of [path.join(restores, escape), path.join(root, escape), path.join(target, escape)]) expect(existsSync(p)).toBe(false);
    expect(existsSync(path.join(target, 'site/link'))).toBe(false);

    // A link already inside a target restored over: nothing is written through it.
    const outside = path.join(root, 'outside');
    await mkdir(outside);
    const linked = path.join(restores, 'linked');
    await mkdir(linked);
    await symlink(outside, path.join(linked, 'site'));
    const good = (await create({ type: 'full' })).body.data;
    const over = await call('POST', `/backups/${good.id}/restore`, { target: linked, overwrite: true });
    expect(over.status).toBe(200);
    expect(over.body.data.restoredFiles).toBe(0);
    expect((over.body.data.errors as string[]).join('\n')).toMatch(/site is a symbolic link in the target/);
    expect(await readdir(outside)).toEqual([]);
    expect(lstatSync(path.join(linked, 'site')).isSymbolicLink()).toBe(true);
  });

  it('refuses bad input with 4xx naming the field', async () => {
    const cases: [string, string, unknown, string][] = [
      ['POST', '/backups', { type: 'full', compression: 10 }, 'compression'],
      ['POST', '/backups', { type: 'weekly' }, 'type'],
      ['POST', '/backups', { type: 'full', sources: ['/etc'] }, 'sources'],
      ['GET', '/backups?sort=name', undefined, 'sort'],
    ];
    for (const [method, url, body, field] of cases) {
      const r = await call(method, url, body);
      expect([url, r.status, r.body.error?.details?.field]).toEqual([url, 400, field]);
    }
    await put('one.txt', '1');
    const b = (await create({ type: 'full' })).body.data;
    await mkdir(restores, { recursive: true });
    await writeFile(path.join(restores, 'a-file'), 'x');
    for (const target of [path.join(restores, 'a-file'), '/etc/opsgraph', 'relative/dir', restores, path.join(restores, '..', 'elsewhere')]) {
      const r = await call('POST', `/backups/${b.id}/restore`, { target });
      expect([target, r.status, r.body.error?.details?.field]).toEqual([target, 400, 'target']);
    }
    const full = path.join(restores, 'not-empty');
    await mkdir(full);
    await writeFile(path.join(full, 'keep'), 'x');
    expect((await call('POST', `/backups/${b.id}/restore`, { target: full })).status).toBe(409);
    const d = await call('DELETE', `/backups/${b.id}?keepMetadata=maybe`);
    expect([d.status, d.body.error.details.field]).toEqual([400, 'keepMetadata']);
    expect((await call('GET', '/backups/not-a-backup')).status).toBe(404);

    const gq = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { createBackup(input: { type: full, compression: 10 }) { id } }' }),
    });
    const gqBody = (await gq.json()) as Json;
    expect(gqBody.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(JSON.stringify(gqBody.errors[0].extensions)).toContain('compression');
  });
});

describe('a run that fails', () => {
  it('answers ERR_2001 with the failed record, raises backup:failed and leaves no archive', async () => {
    const failedEvent = listenOnBus(api, BACKUP_FAILED, () => true);
    const moved = `${source}.away`;
    await rename(source, moved);
    try {
      const r = await create({ type: 'full' });
      expect(r.status).toBe(500);
      expect(r.body.error).toMatchObject({ code: 'ERR_2001', details: { id: expect.any(String), backup: { status: 'failed' } } });
      expect(r.body.error.message).toContain('is not a directory');
      const id = r.body.error.details.id as string;
      expect((await failedEvent.heard()).backup).toMatchObject({ id, status: 'failed' });
      expect((await readdir(backupDir)).filter((n) => n.includes(id))).toEqual([]);
      expect(await api.app.db.prisma.backupFile.count({ where: { backupId: id } })).toBe(0);
    } finally {
      await rename(moved, source);
    }
  });
});

describe('one backup status per service', () => {
  const node = 'backups/runs';
  const serviceRow = (name: string) => api.app.db.prisma.service.findFirstOrThrow({ where: { nodeId: node, name } });
  const register = (name: string, backup: Json) => agent(api, key).register({ name, nodeId: node, operations: { backup: { expected: true, maxAgeDays: 1, ...backup } } });

  it('a server-run backup attributed to a service clears backupOverdue; verifying moves lastVerifiedAt', async () => {
    await register('db', {});
    const svc = await serviceRow('db');
    expect(svc.backupOverdue).toBe(true);
    const b = await create({ type: 'full', serviceId: svc.id });
    expect(b.status).toBe(201);
    const after = await serviceRow('db');
    expect(after).toMatchObject({ backupOverdue: false, lastBackupStatus: 'success', lastSuccessfulBackupAt: clock.now(), lastVerifiedAt: null });

    const v1 = await call('POST', `/backups/${b.body.data.id}/verify`, {});
    expect(v1.status).toBe(200);
    expect((await serviceRow('db')).lastVerifiedAt).toEqual(clock.now());
    clock.advance(60_000);
    await call('POST', `/backups/${b.body.data.id}/verify`, { deep: true });
    expect((await serviceRow('db')).lastVerifiedAt).toEqual(clock.now());

    await call('GET', '/backups/stats');
    const gq = await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ service(id: "${svc.id}") { backupStatus { lastSuccessAt lastVerifiedAt backupOverdue } } }` }),
    });
    expect(((await gq.json()) as Json).data.service.backupStatus).toEqual({
      lastSuccessAt: after.lastSuccessfulBackupAt!.toISOString(),
      lastVerifiedAt: clock.now().toISOString(),
      backupOverdue: false,
    });
  });

  it('a verified backup older than maxVerifiedAgeDays makes backups overdue', async () => {
    await register('verified', { maxAgeDays: 30, maxVerifiedAgeDays: 2 });
    const svc = await serviceRow('verified');
    const b = (await create({ type: 'full', serviceId: svc.id })).body.data;
    expect((await serviceRow('verified')).backupOverdue).toBe(true);
    await call('POST', `/backups/${b.id}/verify`, {});
    expect((await serviceRow('verified')).backupOverdue).toBe(false);
    clock.advance(3 * 86_400_000);
    await api.app.jobs.enqueueByName('backups.freshness', {});
    await expect.poll(async () => (await serviceRow('verified')).backupOverdue, { timeout: 10_000 }).toBe(true);
  });

  it('a too-small report or a too-fast run counts as failed and raises the backup alert', async () => {
    await register('small', { minSizeBytes: 1_000 });
    const small = await serviceRow('small');
    const ag = agent(api, key);
    expect((await ag.backup({ service: 'small', nodeId: node, status: 'success', sizeBytes: 5_000 })).status).toBe(200);
    expect((await serviceRow('small')).backupOverdue).toBe(false);
    clock.advance(2 * 86_400_000);
    const alert = listenOnBus(api, SLA_ALERT, (p) => p.serviceId === small.id && p.status === 'OVERDUE');
    await ag.backup({ service: 'small', nodeId: node, status: 'success', sizeBytes: 10 });
    expect(await serviceRow('small')).toMatchObject({ lastBackupStatus: 'failed', backupOverdue: true });
    expect((await alert.heard()).message).toContain('sizeBytes 10 is below minSizeBytes 1000');
    const report = await api.app.db.prisma.backupReport.findFirstOrThrow({ where: { serviceId: small.id, sizeBytes: 10n } });
    expect(report).toMatchObject({ status: 'failed', message: 'sizeBytes 10 is below minSizeBytes 1000' });

    // Too fast, by the webhook's durationSeconds.
    await register('quick', { minDurationSeconds: 60 });
    await ag.backup({ service: 'quick', nodeId: node, status: 'success', durationSeconds: 5 });
    expect(await serviceRow('quick')).toMatchObject({ lastBackupStatus: 'failed', backupOverdue: true });

    // Too fast, as a server run: a small tree takes well under an hour.
    await register('fast', { minDurationSeconds: 3_600 });
    const fast = await serviceRow('fast');
    await ag.backup({ service: 'fast', nodeId: node, status: 'success', durationSeconds: 7_200 });
    expect((await serviceRow('fast')).backupOverdue).toBe(false);
    clock.advance(2 * 86_400_000);
    const runAlert = listenOnBus(api, SLA_ALERT, (p) => p.serviceId === fast.id && p.status === 'OVERDUE');
    const run = await create({ type: 'full', serviceId: fast.id });
    expect(run.status).toBe(201);
    expect(await serviceRow('fast')).toMatchObject({ lastBackupStatus: 'failed', backupOverdue: true });
    expect((await runAlert.heard()).message).toMatch(/durationSeconds \d+ is below minDurationSeconds 3600/);
  });
});

describe('schedules and retention', () => {
  it('a cron schedule makes backups on the worker, and retention keeps the newest full chains', async () => {
    await api.stop();
    // Every second (a six-field pattern), keeping one full chain.
    const scheduled = await env.startApp({
      role: 'all',
      clock,
      overrides: { BACKUP_SOURCES: source, BACKUP_DIR: backupDir, BACKUP_RESTORE_DIR: restores, BACKUP_SCHEDULE: '* * * * * *', BACKUP_RETENTION_COUNT: '1' },
    });
    const db = scheduled.app.db.prisma;
    const schedulers = await scheduled.app.jobs.queues.get('backups')!.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.pattern])).toContainEqual(['backups.scheduled', '* * * * * *']);
    // Scheduled runs have completed, and one's retention removed every older full chain.
    const retained = async () => (await db.auditEntry.count({ where: { action: 'backup.delete', actorId: 'backups.retention' } })) > 0;
    await waitFor(async () => (await retained()) && (await db.backup.count({ where: { status: 'completed', type: 'full', deletedAt: null } })) === 1, 15_000);
    await scheduled.stop();
    // Stopped, so no tick runs meanwhile: what is left is what retention kept.
    const client = new pg.Client({ connectionString: env.databaseUrl });
    await client.connect();
    try {
      const kept = (await client.query<{ id: string; metadata: unknown }>(`SELECT id, metadata FROM "Backup" WHERE status = 'completed' AND "deletedAt" IS NULL`)).rows;
      expect(kept.map((k) => k.metadata)).toEqual([{ scheduled: true }]);
      // Only the kept chain's archive is left on disk.
      expect((await readdir(backupDir)).filter((n) => n.endsWith('.tar.gz'))).toEqual([`${kept[0]!.id}.tar.gz`]);
    } finally {
      await client.end();
    }
  }, 30_000);
});

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../support/env.js';
import { bearer, createTestEnv, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

let env: TestEnv;
let api: TestApp;
let root: string;
let dirs: Record<string, string>;
let child: ChildProcess | undefined;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsgraph-backup-crash-'));
  dirs = { BACKUP_SOURCES: path.join(root, 'data'), BACKUP_DIR: path.join(root, 'archives'), BACKUP_RESTORE_DIR: path.join(root, 'restores') };
  await mkdir(dirs.BACKUP_SOURCES!, { recursive: true });
  // Random content at gzip level 9: slow enough to be caught mid-run, a few seconds at most.
  for (let i = 0; i < 24; i++) await writeFile(path.join(dirs.BACKUP_SOURCES!, `blob-${i}.bin`), randomBytes(2 * 1024 * 1024));
  env = await createTestEnv();
  // The API only: the run must happen in the child worker.
  api = await env.startApp({ role: 'api', overrides: { ...dirs, BACKUP_WAIT_SECONDS: '0', RATE_LIMIT_BACKUP_OPS: '1000' } });
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await env.cleanup();
  await rm(root, { recursive: true, force: true });
});

describe('a worker killed mid-run', () => {
  it('leaves no completed record and no archive under its final name; the record is failed once a worker starts again', async () => {
    child = spawn(process.execPath, ['--import', '@oxc-node/core/register', 'src/main.ts', 'start', '--role', 'worker'], {
      cwd: repo,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', DATABASE_URL: env.databaseUrl, REDIS_URL, REDIS_PREFIX: env.prefix, ...dirs },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));

    const res = await fetch(`${api.url}/api/v1/backups`, {
      method: 'POST',
      headers: { ...bearer(await tokenFor(api, 'OPERATOR')), 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'full', compression: 9 }),
    });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as { data: { id: string } }).data.id;
    const partial = path.join(dirs.BACKUP_DIR!, `.${id}.tar.gz.partial`);
    const final = path.join(dirs.BACKUP_DIR!, `${id}.tar.gz`);
    const record = () => api.app.db.prisma.backup.findUniqueOrThrow({ where: { id } });

    // Caught while it writes: the record is running and its partial archive has grown.
    await waitFor(async () => (await record()).status === 'running' && ((await stat(partial).catch(() => null))?.size ?? 0) > 0, 60_000, 20).catch((err) => {
      throw new Error(`${(err as Error).message}\n${stderr}`);
    });
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));

    expect((await record()).status).toBe('running');
    expect(existsSync(final)).toBe(false);
    expect(await api.app.db.prisma.backup.count({ where: { status: 'completed' } })).toBe(0);

    // A worker starting finds the run nobody holds any more.
    await env.startApp({ role: 'worker', overrides: dirs });
    const after = await record();
    expect(after).toMatchObject({ status: 'failed', error: expect.stringContaining('interrupted') });
    expect(await readdir(dirs.BACKUP_DIR!)).toEqual([]);
    expect(await api.app.db.prisma.backupFile.count({ where: { backupId: id } })).toBe(0);
  }, 90_000);
});

describe('the backupOps budget', () => {
  it('is one budget for REST and GraphQL: once REST has spent it, the GraphQL mutations are refused too', async () => {
    const limited = await env.startApp({ role: 'api', overrides: { ...dirs, RATE_LIMIT_BACKUP_OPS: '2', BACKUP_WAIT_SECONDS: '0' } });
    // The operator of the first instance: one deployment, one user table.
    const headers = { ...bearer(await tokenFor(api, 'OPERATOR')), 'content-type': 'application/json' };
    const verifyRest = () => fetch(`${limited.url}/api/v1/backups/backup_20261201_000000_000000/verify`, { method: 'POST', headers, body: '{}' });
    let status = 0;
    for (let i = 0; i < 3 && status !== 429; i++) status = (await verifyRest()).status;
    expect(status).toBe(429);
    const gq = await fetch(`${limited.url}/graphql`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: 'mutation { verifyBackup(id: "backup_20261201_000000_000000") { valid } }' }),
    });
    const body = (await gq.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('RATE_LIMITED');
  });
});

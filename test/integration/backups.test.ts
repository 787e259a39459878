import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agent, newAgentKey } from '../support/agent.js';
import { REDIS_URL } from '../support/env.js';
import { createTestEnv, waitFor, type TestApp, type TestEnv } from '../support/harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

let env: TestEnv;
let api: TestApp;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'api', overrides: { RATE_LIMIT_AGENT: '100000' } });
  key = await newAgentKey(api);
  await agent(api, key).status({ nodeId: 'backups/a', services: [{ name: 'db', status: 'OPERATIONAL' }, { name: 'cache', status: 'OPERATIONAL' }] });
});
afterAll(() => env.cleanup());

const reports = (name: string) => api.app.db.prisma.backupReport.count({ where: { service: { nodeId: 'backups/a', name } } });

describe('backup report deduplication rests on what the database committed', () => {
  it('a report resent right after the first attempt crashed before its commit is recorded, once', async () => {
    // The first insert fails as a crash mid-request would (a sequence is not rolled back with it).
    const db = api.app.db.pool;
    await db.query(`CREATE SEQUENCE crash_once`);
    await db.query(`CREATE FUNCTION crash_first() RETURNS trigger AS $$ BEGIN IF nextval('crash_once') = 1 THEN RAISE EXCEPTION 'simulated crash'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await db.query(`CREATE TRIGGER crash_first BEFORE INSERT ON "BackupReport" FOR EACH ROW EXECUTE FUNCTION crash_first()`);
    try {
      const ag = agent(api, key);
      const body = { service: 'db', nodeId: 'backups/a', status: 'success', sizeBytes: 1024 };
      const first = await ag.backup(body);
      expect(first.status).toBeGreaterThanOrEqual(500);
      const retry = await ag.backup(body);
      expect(retry.status).toBe(200);
      expect(retry.body.services).toEqual(['backups/a/db']);
      expect(await reports('db')).toBe(1);
      // And a third delivery of the same body within the minute is the same report.
      expect((await ag.backup(body)).body).toEqual(retry.body);
      expect(await reports('db')).toBe(1);
    } finally {
      await db.query(`DROP TRIGGER crash_first ON "BackupReport"; DROP FUNCTION crash_first(); DROP SEQUENCE crash_once`);
    }
  });

  it('a report whose server was killed mid-request is recorded when resent at once to another instance', async () => {
    // A real server process on the same database and Redis, killed while its transaction is open.
    const child = spawn(process.execPath, ['--import', '@oxc-node/core/register', 'src/main.ts', 'start', '--role', 'api'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', DATABASE_URL: env.databaseUrl, REDIS_URL, REDIS_PREFIX: env.prefix },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const db = api.app.db.pool;
    try {
      const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(stderr)?.[1], 60_000);
      await db.query(`CREATE FUNCTION slow_insert() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(3); RETURN NEW; END $$ LANGUAGE plpgsql`);
      await db.query(`CREATE TRIGGER slow_insert BEFORE INSERT ON "BackupReport" FOR EACH ROW EXECUTE FUNCTION slow_insert()`);
      const body = JSON.stringify({ service: 'db', nodeId: 'backups/a', status: 'partial', message: 'killed' });
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
      const doomed = fetch(`${url}/api/v1/backup/report`, { method: 'POST', headers, body }).catch(() => null);
      // The request is inside its transaction once PostgreSQL shows the trigger's sleep.
      await waitFor(async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep'`)).rowCount, 10_000);
      child.kill('SIGKILL');
      await doomed;
      await db.query(`DROP TRIGGER slow_insert ON "BackupReport"; DROP FUNCTION slow_insert()`);
      // The killed server's transaction rolls back once its statement ends and finds no client; the
      // retry, sent at once elsewhere, waits for that (the delivery's lock) and is then recorded.
      const retry = await fetch(`${api.url}/api/v1/backup/report`, { method: 'POST', headers, body });
      expect(retry.status).toBe(200);
      expect(await api.app.db.prisma.backupReport.count({ where: { message: 'killed' } })).toBe(1);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await db.query(`DROP TRIGGER IF EXISTS slow_insert ON "BackupReport"; DROP FUNCTION IF EXISTS slow_insert()`);
    }
  }, 90_000);

  it('the same delivery sent twice at once is recorded once, and both get the same answer', async () => {
    const ag = agent(api, key);
    const body = { service: 'cache', nodeId: 'backups/a', status: 'failed', message: 'disk full' };
    const [a, b] = await Promise.all([ag.backup(body), ag.backup(body)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body).toEqual(b.body);
    expect(await reports('cache')).toBe(1);
  });
});

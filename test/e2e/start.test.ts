import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { quoteIdent } from '../../src/infra/migrations.js';
import { adminUrl, baseDatabaseUrl, REDIS_URL, TEST_PREFIX } from '../support/env.js';
import { connectionsRefused, deleteRedisKeys } from '../support/harness.js';

/** The real entry point in a child process, as `npm start` runs it (from source, to skip the build). */
const root = fileURLToPath(new URL('../..', import.meta.url));
const id = randomBytes(4).toString('hex');
const database = `${TEST_PREFIX}_start_${id}`;
const prefix = `${TEST_PREFIX}_start_${id}`;
const children: ChildProcess[] = [];

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', '@oxc-node/core/register', 'src/main.ts', 'start'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      DATABASE_URL: baseDatabaseUrl(database),
      REDIS_URL,
      REDIS_PREFIX: prefix,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })));
  const listening = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void exited.then(({ code }) => reject(new Error(`exited ${code} before listening: ${stderr}`)));
  });
  listening.catch(() => undefined); // awaited only by the tests that expect a start
  return { child, listening, exited, output: () => ({ stdout, stderr }) };
}

async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
  await admin.end();
  await deleteRedisKeys(`${prefix}:*`);
});

describe('opsgraph start', () => {
  it('creates the database, migrates, serves, and drains an in-flight request on SIGTERM', async () => {
    const app = start({ LOG_LEVEL: 'info' });
    const url = await app.listening;

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const gqlRes = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect(await gqlRes.json()).toEqual({ data: { __typename: 'Query' } });

    // The database did not exist before: start created it and applied the migrations.
    const db = new pg.Client({ connectionString: baseDatabaseUrl(database) });
    await db.connect();
    const applied = await db.query('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL');
    await db.end();
    expect(applied.rowCount).toBeGreaterThan(0);

    // No ADMIN_PASSWORD given: the first admin's generated password is printed once, and it works.
    const printed = /First admin: (\S+) \/ (\S+)/.exec(app.output().stderr);
    expect(printed).not.toBeNull();
    const loginRes = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { user { role } } }', variables: { e: printed![1], p: printed![2] } }),
    });
    expect(await loginRes.json()).toEqual({ data: { login: { user: { role: 'ADMIN' } } } });
    // Never in a log line: only the banner on stderr shows it.
    expect(app.output().stdout).not.toContain(printed![2]);
    expect(app.output().stderr.split('\n').filter((l) => l.includes(printed![2]))).toHaveLength(1);

    // A request whose body is still arriving when SIGTERM lands must complete. Each step waits for
    // the server, not for time: it has the request once it answers 100 Continue (Node counts the
    // request as it writes that), and it is draining once new connections are refused (it counts
    // what is in flight, then closes its listener); only then does the rest of the body go.
    const body = JSON.stringify({ query: '{ readiness { ready } }' });
    const { port } = new URL(url);
    let signalledAt = 0;
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' };
      const req = http.request({ host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.once('continue', () => {
        signalledAt = Date.now();
        app.child.kill('SIGTERM');
        connectionsRefused(Number(port)).then(() => req.end(body.slice(10)), reject);
      });
      req.write(body.slice(0, 10));
    });
    const done = await response;
    expect(done.status).toBe(200);
    expect(JSON.parse(done.text)).toEqual({ data: { readiness: { ready: true } } });
    const { code, at } = await app.exited;
    expect(code).toBe(0);
    expect(at - signalledAt).toBeLessThan(10_000);
    // New connections are refused once it has stopped.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();

    // stdout is JSON lines only; probes log below info; the last line says what was drained and how long it took.
    const lines = app.output().stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; url?: string; inFlightRequests?: number; ms?: number });
    expect(lines.filter((l) => l.msg === 'request').map((l) => l.url)).not.toContain('/healthz');
    expect(lines.some((l) => l.msg === 'request' && l.url === '/graphql')).toBe(true);
    const stopped = lines.at(-1)!;
    expect(stopped).toMatchObject({ msg: 'stopped', inFlightRequests: 1, webSockets: 0, requestsCut: false });
    expect(stopped.ms).toBeGreaterThan(0);
  }, 60_000);

  it('says in one line that the port is taken, and exits non-zero', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = taken.address() as net.AddressInfo;
      const app = start({ PORT: String(port) });
      const { code } = await app.exited;
      expect(code).not.toBe(0);
      const lines = app.output().stderr.trim().split('\n').filter((l) => !l.startsWith('First admin'));
      expect(lines).toEqual([`opsgraph: port ${port} is in use on 127.0.0.1; set PORT or stop the other process`]);
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
  });

  it.each([
    ['Redis', async () => ({ REDIS_URL: `redis://:s3cret@127.0.0.1:${await deadPort()}` })],
    ['PostgreSQL', async () => ({ DATABASE_URL: `postgresql://postgres:s3cret@127.0.0.1:${await deadPort()}/opsgraph` })],
  ] as const)('exits non-zero within 10 s with one line when %s is unreachable', async (service, env) => {
    const startedAt = Date.now();
    const app = start(await env());
    const { code, at } = await app.exited;
    expect(code).not.toBe(0);
    expect(at - startedAt).toBeLessThan(10_000);
    const lines = app.output().stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`${service} is not reachable at \\S+127\\.0\\.0\\.1:\\d+`));
    expect(lines[0]).toContain('****');
    expect(lines[0]).not.toContain('s3cret');
    expect(lines[0]).toMatch(/start it/);
  });
});

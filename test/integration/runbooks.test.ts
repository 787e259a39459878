import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/auth/actor.js';
import { ConfigError } from '../../src/config.js';
import { RunbookFileError } from '../../src/modules/runbooks/runbooks.definitions.js';
import { ExecuteRunbookDocument, OpsStatusDocument, RunbookRunDocument, RunbookRunsDocument, RunbooksDocument } from '../generated/graphql.js';
import { bearer, createTestEnv, gql, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';

let env: TestEnv;
let api: TestApp;
let dir: string;
let file: string;
let operator: Record<string, string>;
let viewer: Record<string, string>;

const node = (code: string) => JSON.stringify(['node', '-e', code]);

/** The runbooks of this file: each command shows one behaviour. */
function runbooksYaml(d: string, extra = ''): string {
  return `runbooks:
  start:
    timeout_seconds: 20
    steps:
      - name: noisy
        run: ${node("console.log('out-line one'); console.error('err-line two'); process.exit(3)")}
      - name: never
        run: ${node(`require('fs').writeFileSync(${JSON.stringify(path.join(d, 'never'))}, 'x')`)}
  stop:
    timeout_seconds: 20
    steps:
      - name: hang
        timeout_seconds: 1
        run: ${node(
          // A child that starts a grandchild, both of which ignore SIGTERM, and records their pids.
          `const { spawn } = require('child_process');
           const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); const g = require('child_process').spawn('sleep', ['30'], { stdio: 'ignore' }); console.log('pid ' + process.pid + ' ' + g.pid); setInterval(() => {}, 1000)"], { stdio: ['ignore', 'pipe', 'inherit'] });
           child.stdout.on('data', (b) => { require('fs').writeFileSync(${JSON.stringify(path.join(d, 'pids'))}, process.pid + ' ' + String(b).trim().split(' ').slice(1).join(' ')); console.log('children started'); });
           process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);`,
        )}
  restart:
    steps:
      - name: touch
        run: ${node(`require('fs').writeFileSync(${JSON.stringify(path.join(d, 'restarted'))}, 'x')`)}
  failover:
    steps:
      - name: promote
        run: ${node(`setTimeout(() => console.log('promoted to ' + process.env.OPSGRAPH_CONFIG + ' by ' + process.env.OPSGRAPH_REQUEST_ID), 400)`)}
  failback:
    steps:
      - name: count
        run: ${node(`require('fs').appendFileSync(${JSON.stringify(path.join(d, 'failbacks'))}, 'x'); console.log('secret=' + (process.env.JWT_SECRET || process.env.DATABASE_URL || 'none'))`)}
  drill:
    requires_enforce: true
    steps:
      - name: rehearse
        run: ["echo", "drill"]
${extra}`;
}

const post = (body: unknown, auth: Record<string, string> = operator) =>
  fetch(`${api.url}/api/ops/runbooks/execute`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(body) });
const execute = async (body: unknown, auth?: Record<string, string>) => {
  const res = await post(body, auth);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};
const getJson = async (p: string, auth: Record<string, string> = viewer) => {
  const res = await fetch(`${api.url}/api/ops${p}`, { headers: auth });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

/** Sends SIGHUP to this process and resolves once it was handled (the app's listener came first and reads synchronously). */
async function hangUp(): Promise<void> {
  const heard = new Promise((r) => process.once('SIGHUP', r));
  process.kill(process.pid, 'SIGHUP');
  await heard;
}

/** Alive, and not a zombie waiting for a parent (PID 1 here may never reap orphans). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'opsgraph-runbooks-'));
  file = path.join(dir, 'runbooks.yaml');
  writeFileSync(file, runbooksYaml(dir));
  env = await createTestEnv();
  api = await env.startApp({ overrides: { RUNBOOKS_FILE: file, RUNBOOKS_KILL_GRACE_SECONDS: '1', JWT_SECRET: 'a-secret-the-steps-must-never-see-0123456789' } });
  operator = bearer(await tokenFor(api, 'OPERATOR'));
  viewer = bearer(await tokenFor(api, 'VIEWER'));
});
afterAll(async () => {
  await env.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('runbook execution', () => {
  it('answers a failing step with status failed, its exit code and its stdout and stderr lines, and stops there', async () => {
    const r = await execute({ command: 'start', mode: 'maintenance' });
    expect(r.status).toBe(200);
    expect(r.body.runbook).toMatchObject({ command: 'start', status: 'failed', exit_code: 3, dry_run: false });
    expect(r.body.runbook.logs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 'INFO', message: 'out-line one', step: 'noisy' }),
        expect.objectContaining({ level: 'WARN', message: 'err-line two', step: 'noisy' }),
      ]),
    );
    expect(existsSync(path.join(dir, 'never'))).toBe(false);
    expect(r.body.health).toBeNull();
    // A failed run moves no mode; its exit code is remembered.
    const s = await getJson('/status');
    expect(s.body).toMatchObject({ environment_mode: 'live', last_exit_codes: { start: 3 } });
  });

  it('kills a step past its timeout with its whole process group and answers 500 with detail', async () => {
    const r = await execute({ command: 'stop' });
    expect(r.status).toBe(500);
    expect(r.body).toMatchObject({ success: false, error: { code: 'ERR_EXECUTION' }, runbook: { status: 'timeout', exit_code: 124 } });
    expect(r.body.detail).toMatch(/step hang exceeded its timeout of 1 s/);
    const pids = readFileSync(path.join(dir, 'pids'), 'utf8').trim().split(' ').map(Number);
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect([pid, alive(pid)]).toEqual([pid, false]);
    expect(r.body.runbook.logs.map((l: { message: string }) => l.message)).toEqual(expect.arrayContaining(['children started', expect.stringMatching(/SIGTERM to its process group/)]));
  });

  it('answers a dry run with the plan, runs nothing, changes nothing, and lists it', async () => {
    const before = (await getJson('/status')).body;
    const r = await execute({ command: 'restart', dry_run: true, mode: 'drill', request_id: 'dry-1' });
    expect(r.status).toBe(200);
    expect(r.body.runbook).toMatchObject({ request_id: 'dry-1', status: 'dry_run', exit_code: 0, dry_run: true });
    expect(r.body.runbook.logs.map((l: { message: string }) => l.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^would run step touch: node -e/)]));
    expect(existsSync(path.join(dir, 'restarted'))).toBe(false);
    const after = (await getJson('/status')).body;
    expect(after).toMatchObject({ environment_mode: before.environment_mode, last_exit_codes: before.last_exit_codes, last_updated_at: before.last_updated_at });
    expect(after.runbook_history[0]).toMatchObject({ request_id: 'dry-1', status: 'dry_run' });
    const listed = await gql(api.url, RunbookRunsDocument, { filter: { dryRun: true } }, viewer);
    expect(listed.data?.runbookRuns.items.map((i) => i.requestId)).toContain('dry-1');
  });

  it('runs the same request_id once, and refuses it for another command', async () => {
    const first = await execute({ command: 'failback', request_id: 'once-1' });
    const again = await execute({ command: 'failback', request_id: 'once-1' });
    expect(first.status).toBe(200);
    expect(again.body.runbook).toEqual(first.body.runbook);
    expect(readFileSync(path.join(dir, 'failbacks'), 'utf8')).toBe('x');
    // The server's secrets are not in a step's environment.
    expect(first.body.runbook.logs.map((l: { message: string }) => l.message)).toContain('secret=none');
    const other = await execute({ command: 'start', request_id: 'once-1' });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'ERR_1005', details: { field: 'request_id' } });
  });

  it('runs one of two concurrent failovers and refuses the other with 409', async () => {
    const both = await Promise.all([execute({ command: 'failover', config: 'dr-a' }), execute({ command: 'failover', config: 'dr-b' })]);
    expect(both.map((b) => b.status).sort()).toEqual([200, 409]);
    const refused = both.find((b) => b.status === 409)!;
    expect(refused.body.error.code).toBe('ERR_1005');
    // A health_check is not serialized with them; the next failover runs once the first has ended.
    const next = await execute({ command: 'failover', config: 'dr-c', reason: 'after the race' });
    expect(next.body.runbook).toMatchObject({ status: 'success', exit_code: 0 });
  });

  it('moves active_profile on failover and back on failback, as /api/ops/status and opsStatus show', async () => {
    const over = await execute({ command: 'failover', config: 'dr-site', mode: 'live', window: 'night', request_id: 'fo-1' });
    expect(over.body.runbook.logs.map((l: { message: string }) => l.message)).toContain('promoted to dr-site by fo-1');
    let s = (await getJson('/status')).body;
    expect(s).toMatchObject({ active_profile: 'dr-site', active_window: 'night', last_runbook: { request_id: 'fo-1', command: 'failover' }, last_exit_codes: { failover: 0 } });
    expect(Date.parse(s.last_updated_at)).not.toBeNaN();
    await execute({ command: 'failback' });
    s = (await getJson('/status')).body;
    expect(s.active_profile).toBe('primary');
    const g = await gql(api.url, OpsStatusDocument, {}, viewer);
    expect(g.data?.opsStatus).toMatchObject({ activeProfile: 'primary', activeWindow: 'night', lastRunbook: { command: 'failback' } });
    // Every execution is in the audit log, with who asked.
    const audited = await api.app.db.prisma.auditEntry.findMany({ where: { action: 'runbook.execute', resourceId: 'fo-1' } });
    expect(audited).toHaveLength(1);
    expect(audited[0]!.actorType).toBe('USER');
  });

  it('refuses a runbook that requires enforce unless the request says enforce: true', async () => {
    const refused = await execute({ command: 'drill' });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'ERR_1006', details: { field: 'enforce' } });
    expect((await execute({ command: 'drill', enforce: true })).body.runbook).toMatchObject({ status: 'success' });
  });

  it('refuses an unknown command with 422 naming command, and bad fields with 400 naming them', async () => {
    const r = await execute({ command: 'reboot' });
    expect(r.status).toBe(422);
    expect(r.body.error).toMatchObject({ code: 'ERR_1006', details: { field: 'command' } });
    const bad = await execute({ command: 'start', mode: 'live; rm -rf /' });
    expect([bad.status, bad.body.error.details.field]).toEqual([400, 'mode']);
    const unknown = await execute({ command: 'start', dryrun: true });
    expect([unknown.status, unknown.body.error.details.field]).toEqual([400, 'dryrun']);
  });

  it('answers health_check with fleet coverage and keeps it by request id', async () => {
    const r = await execute({ command: 'health_check', request_id: 'hc-1' });
    expect(r.status).toBe(200);
    expect(r.body.runbook).toMatchObject({ status: 'success', exit_code: 0 });
    expect(r.body.health).toMatchObject({ coverage_ratio: null, expected_total: 0, active_total: 0, matched_total: 0, ignored_total: 0 });
    expect(r.body.health.checks.map((c: { name: string; status: string }) => `${c.name}:${c.status}`)).toEqual(['postgres:pass', 'redis:pass', 'fleet_coverage:pass']);
    const s = (await getJson('/status')).body;
    expect(s.health_by_request['hc-1']).toEqual(r.body.health);
    expect(s.last_health).toEqual(r.body.health);
  });
});

describe('ops console access', () => {
  it('lets viewers read and not execute; an ops API key does both; other keys are refused', async () => {
    expect((await getJson('/status')).status).toBe(200);
    expect((await execute({ command: 'health_check' }, viewer)).status).toBe(403);
    expect((await fetch(`${api.url}/api/ops/status`)).status).toBe(401);
    const keys = api.app.auth.apiKeys;
    const ops = bearer((await keys.create({ name: 'console', scopes: ['ops'] }, systemActor('test'))).secret);
    const agentKey = bearer((await keys.create({ name: 'agent', scopes: ['operator'] }, systemActor('test'))).secret);
    const unscoped = bearer((await keys.create({ name: 'any' }, systemActor('test'))).secret);
    expect((await execute({ command: 'health_check' }, ops)).status).toBe(200);
    expect((await getJson('/metrics/summary', ops)).status).toBe(200);
    for (const key of [agentKey, unscoped]) {
      expect((await execute({ command: 'health_check' }, key)).status).toBe(403);
      expect((await getJson('/status', key)).status).toBe(403);
    }
  });

  it('summarizes the console metrics from the fleet, the runs and the queues', async () => {
    const { body } = await getJson('/metrics/summary');
    expect(Object.keys(body).sort()).toEqual(['consumer_backlog_messages', 'coverage_ratio', 'failover_latency_ms', 'runbook_exit_code', 'throughput_mps']);
    expect(body.coverage_ratio).toMatchObject({ value: null, stale: false, context: { expected_total: 0, active_total: 0, matched_total: 0, ignored_total: 0 } });
    expect(body.throughput_mps).toMatchObject({ unit: 'msg/s', context: { window: 'max_over_time[1m]' } });
    expect(body.failover_latency_ms.value).toBeGreaterThanOrEqual(400);
    expect(body.runbook_exit_code).toMatchObject({ stale: false });
    expect(body.consumer_backlog_messages.value).toBeGreaterThanOrEqual(0);
  });
});

describe('GraphQL', () => {
  it('executes, lists and reads runs, and lists the runbooks', async () => {
    const r = await gql(api.url, ExecuteRunbookDocument, { input: { command: 'drill', enforce: true, requestId: 'gql-1', reason: 'quarterly' } }, operator);
    expect(r.data?.executeRunbook.runbook).toMatchObject({ requestId: 'gql-1', status: 'success', exitCode: 0, reason: 'quarterly' });
    const one = await gql(api.url, RunbookRunDocument, { requestId: 'gql-1' }, viewer);
    expect(one.data?.runbookRun.logs.map((l) => l.message)).toContain('drill');
    const denied = await gql(api.url, ExecuteRunbookDocument, { input: { command: 'drill', enforce: true } }, viewer);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const unknown = await gql(api.url, ExecuteRunbookDocument, { input: { command: 'reboot' } }, operator);
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    const list = await gql(api.url, RunbooksDocument, {}, viewer);
    expect(list.data?.runbooks.find((b) => b.command === 'health_check')).toMatchObject({ builtIn: true, mutating: false });
  });
});

describe('the runbooks file', () => {
  it('is read again when it changes and on SIGHUP; a bad edit keeps the definitions in use', async () => {
    const commands = async () => (await gql(api.url, RunbooksDocument, {}, viewer)).data!.runbooks.map((b) => `${b.command}:${b.description ?? ''}`);
    writeFileSync(file, runbooksYaml(dir, '  health_check:\n    description: changed on disk\n    steps:\n      - name: hi\n        run: ["echo", "hi"]\n'));
    await waitFor(async () => (await commands()).includes('health_check:changed on disk'));
    // A bad file is logged and ignored.
    writeFileSync(file, 'runbooks:\n  start:\n    steps: nope\n');
    await hangUp();
    expect(await commands()).toContain('health_check:changed on disk');
    // SIGHUP reads it at once (the watcher would wait for its debounce).
    writeFileSync(file, 'runbooks:\n  stop:\n    description: only stop\n    steps:\n      - name: s\n        run: ["echo", "s"]\n');
    await hangUp();
    expect((await commands()).sort()).toEqual(['health_check:Built in: PostgreSQL, Redis and fleet coverage', 'stop:only stop']);
    // A command whose runbook is gone is refused like an unknown one.
    const gone = await execute({ command: 'failover' });
    expect([gone.status, gone.body.error.details.field]).toEqual([422, 'command']);
  });

  it('stops the server at start when it is bad, naming the line and the key', async () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'runbooks:\n  start:\n    steps:\n      - name: a\n        run: "echo hi"\n');
    // RunbookFileError is a ConfigError: the CLI prints its message as one line and exits 2.
    await expect(env.startApp({ overrides: { RUNBOOKS_FILE: bad } })).rejects.toThrow(new RunbookFileError(`${bad}: line 5, column 14: runbooks.start.steps[0].run: an argv list such as ["/usr/bin/echo", "hi"] (no shell)`));
    writeFileSync(bad, 'runbooks:\n  reboot:\n    steps: []\n');
    await expect(env.startApp({ overrides: { RUNBOOKS_FILE: bad } })).rejects.toThrow(`${bad}: line 2, column 3: runbooks.reboot: unknown key`);
    await expect(env.startApp({ overrides: { RUNBOOKS_FILE: bad } })).rejects.toBeInstanceOf(ConfigError);
  });
});

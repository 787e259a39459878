import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentsDocument, SlaGroupsDocument } from '../generated/graphql.js';
import { bearer, createTestEnv, gql, tokenFor, type TestApp, type TestEnv } from '../support/harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
let env: TestEnv;
let api: TestApp;

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp();
});
afterAll(() => env.cleanup());

const demo = (args: string[]) =>
  run(process.execPath, ['--import', '@oxc-node/core/register', 'src/main.ts', 'demo', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: env.databaseUrl, REDIS_PREFIX: env.prefix, LOG_LEVEL: 'silent' },
  });

describe('npm run demo', () => {
  it('creates its key, fills slaGroups and opens an incident through the REST API, and says what it does', async () => {
    const { stdout } = await demo(['--url', api.url, '--minutes', '0.1', '--interval', '1', '--seed', '7']);
    expect(stdout).toMatch(/created API key/);
    expect(stdout).toMatch(/demo\/cluster-east checkout-api → MAJOR_OUTAGE/);
    expect(stdout).toMatch(/stopped after \d+ ticks/);

    const token = await tokenFor(api, 'VIEWER');
    const groups = await gql(api.url, SlaGroupsDocument, {}, bearer(token));
    expect(groups.data!.slaGroups.map((g) => g.name).sort()).toEqual(['internal', 'payments', 'storefront']);
    const payments = groups.data!.slaGroups.find((g) => g.name === 'payments')!;
    expect(payments.tier).toBe('critical');
    expect(payments.services).toHaveLength(4);

    const incidents = await gql(api.url, IncidentsDocument, {}, bearer(token));
    expect(incidents.data!.incidents.items.length).toBeGreaterThanOrEqual(1);
    // The key it created is a real one, kept like any other (and revocable).
    expect((await api.app.auth.apiKeys.list()).some((k) => k.name === 'demo fleet')).toBe(true);
    // Two child processes start TypeScript from source: seconds each on a loaded machine.
  }, 90_000);

  it('refuses a server that is not on this machine unless told', async () => {
    const err = await demo(['--url', 'http://opsgraph.example.invalid:3000', '--minutes', '1']).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(/--allow-remote/);
  });
});

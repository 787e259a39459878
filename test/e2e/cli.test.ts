import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeDocument } from '../generated/graphql.js';
import { bearer, createTestEnv, gql, type TestApp, type TestEnv } from '../support/harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let env: TestEnv;
let api: TestApp;

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'api' });
});
afterAll(() => env.cleanup());

describe('npm run cli -- apikey create', () => {
  it('prints a working key once, bound to the node given', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', '@oxc-node/core/register', 'src/main.ts', 'apikey', 'create', '--name', 'cluster1 operator', '--node', 'myorg/platform/prod/cluster1'],
      { cwd: root, env: { PATH: process.env.PATH ?? '', DATABASE_URL: env.databaseUrl, REDIS_PREFIX: env.prefix, LOG_LEVEL: 'silent' } },
    );
    const secret = /^(opk_\S+)$/m.exec(stdout)?.[1];
    expect(secret).toBeTruthy();
    expect(stdout).toContain('node myorg/platform/prod/cluster1');
    // It authenticates (a key is not a person, so me is FORBIDDEN rather than UNAUTHENTICATED).
    const r = await gql(api.url, MeDocument, {}, bearer(secret!));
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const keys = await api.app.auth.apiKeys.list();
    expect(keys.find((k) => secret!.includes(k.prefix))?.nodeId).toBe('myorg/platform/prod/cluster1');
  });
});

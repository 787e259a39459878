import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LicenseDocument, MeDocument } from '../generated/graphql.js';
import { ADMIN, bearer, createTestEnv, gql, login, type TestApp, type TestEnv } from '../support/harness.js';
import { postActivate } from '../support/license.js';

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

describe('npm run license -- keygen | issue | activate', () => {
  const cli = (args: string[], extraEnv: Record<string, string> = {}) =>
    promisify(execFile)(process.execPath, ['--import', '@oxc-node/core/register', 'src/main.ts', 'license', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...extraEnv },
    });

  it('never writes a private key where git would pick it up, unless forced', async () => {
    const repo = await mkdtemp(path.join(tmpdir(), 'opsgraph-keygen-'));
    const git = (...args: string[]) => promisify(execFile)('git', ['-C', repo, ...args]);
    try {
      await git('init', '-q');
      await writeFile(path.join(repo, '.gitignore'), 'license/\n');
      const [refused, ignored] = await Promise.allSettled([cli(['keygen', '--out', path.join(repo, 'keys')]), cli(['keygen', '--out', path.join(repo, 'license')])]);
      expect(refused).toMatchObject({ status: 'rejected', reason: { code: 2, stderr: expect.stringMatching(/git work tree and not ignored/) } });
      await expect(stat(path.join(repo, 'keys'))).rejects.toThrow();
      // Into an ignored directory it writes, the directory 0700 and the key 0600.
      expect(ignored.status).toBe('fulfilled');
      expect((await stat(path.join(repo, 'license'))).mode & 0o777).toBe(0o700);
      expect((await stat(path.join(repo, 'license', 'license-private.pem'))).mode & 0o777).toBe(0o600);
      await cli(['keygen', '--out', path.join(repo, 'keys'), '--force']);
      expect((await stat(path.join(repo, 'keys', 'license-private.pem'))).mode & 0o777).toBe(0o600);
      // This repository ignores the default ./license/ and any PEM file.
      for (const file of ['license/license-private.pem', 'other.pem']) await promisify(execFile)('git', ['-C', root, 'check-ignore', '-q', file]);
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  }, 60_000);

  it('makes a key pair (private key 0600) whose issued keys a server configured with the public key activates', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'opsgraph-license-'));
    try {
      const keygen = await cli(['keygen', '--out', dir]);
      expect(keygen.stdout).toContain('license-private.pem');
      expect((await stat(path.join(dir, 'license-private.pem'))).mode & 0o777).toBe(0o600);
      const key = path.join(dir, 'license-private.pem');
      // Independent commands at once: each process starts TypeScript from source, which takes seconds.
      const [overwrite, issued, badPlugin, other] = await Promise.allSettled([
        cli(['keygen', '--out', dir]),
        cli(['issue', '--customer', 'CLI Co', '--plugins', 'ticketing,sla', '--days', '30', '--max-services', '10', '--key', key]),
        cli(['issue', '--customer', 'X', '--plugins', 'billing', '--key', key]),
        cli(['issue', '--customer', 'CLI Two', '--plugins', 'audit', '--key', key]),
      ]);
      // Refuses to overwrite a key pair (keys it signed would stop verifying), and an unknown plugin.
      expect(overwrite).toMatchObject({ status: 'rejected', reason: { code: 2 } });
      expect(badPlugin).toMatchObject({ status: 'rejected', reason: { code: 2 } });
      const licenseKey = (issued as PromiseFulfilledResult<{ stdout: string }>).value.stdout.trim();
      expect(licenseKey.split('.')).toHaveLength(3);

      const server = await env.startApp({ role: 'api', overrides: { LICENSE_PUBLIC_KEY: path.join(dir, 'license-public.pem') } });
      const res = await postActivate(server, { licenseKey });
      expect(res.body).toEqual({ success: true, message: 'License activated', customer: 'CLI Co', plugins: ['ticketing', 'sla'] });

      // `license activate` writes to the database directly, verified with the same public key.
      const publicPem = await readFile(path.join(dir, 'license-public.pem'), 'utf8');
      const activated = await cli(['activate', (other as PromiseFulfilledResult<{ stdout: string }>).value.stdout.trim()], { DATABASE_URL: env.databaseUrl, REDIS_PREFIX: env.prefix, LICENSE_PUBLIC_KEY: publicPem });
      expect(activated.stdout).toContain('activated: CLI Two');
      const admin = bearer((await login(server.url, ADMIN.email, ADMIN.password)).token);
      await new Promise((r) => setTimeout(r, 100));
      expect((await gql(server.url, LicenseDocument, {}, admin)).data!.license).toMatchObject({ customer: 'CLI Two', plugins: ['audit'] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeysDocument, CreateApiKeyDocument, LicenseDocument, LoginDocument, MeDocument, RefreshTokenDocument } from '../generated/graphql.js';
import { ADMIN, bearer, createTestEnv, gql, listenOnBus, login, waitFor, type TestApp, type TestEnv } from '../support/harness.js';
import { postActivate } from '../support/license.js';
import { REDIS_URL } from '../support/env.js';
import { LICENSE_UPDATED } from '../../src/modules/licenses/licenses.events.js';

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

      // With workers: the CLI's activation reaches the bus through the outbox relay, which runs on workers.
      const server = await env.startApp({ role: 'all', overrides: { LICENSE_PUBLIC_KEY: path.join(dir, 'license-public.pem') } });
      const res = await postActivate(server, { licenseKey });
      expect(res.body).toEqual({ success: true, message: 'License activated', customer: 'CLI Co', plugins: ['ticketing', 'sla'] });

      // `license activate` writes to the database directly, verified with the same public key.
      const publicPem = await readFile(path.join(dir, 'license-public.pem'), 'utf8');
      // It announces the activation on the deployment's bus, and the server drops its cached license
      // when it hears it. Listening on the server's own bus from before the CLI runs: once this hears
      // the announcement, the server's cache listener (subscribed at start, so handed each event
      // before this one) has dropped the cache.
      const announced = listenOnBus(server, LICENSE_UPDATED, (e) => e.license.customer === 'CLI Two');
      const activated = await cli(['activate', (other as PromiseFulfilledResult<{ stdout: string }>).value.stdout.trim()], {
        DATABASE_URL: env.databaseUrl,
        REDIS_URL,
        REDIS_PREFIX: env.prefix,
        LICENSE_PUBLIC_KEY: publicPem,
      });
      expect(activated.stdout).toContain('activated: CLI Two');
      const admin = bearer((await login(server.url, ADMIN.email, ADMIN.password)).token);
      await announced.heard();
      expect((await gql(server.url, LicenseDocument, {}, admin)).data!.license).toMatchObject({ customer: 'CLI Two', plugins: ['audit'] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('npm run cli -- user create | user reset-password | apikey list | apikey revoke', () => {
  type Run = { code: number; stdout: string; stderr: string };
  /** The CLI against this file's database, as a child process; resolves with its exit code, whatever it is. */
  const run = (...args: string[]): Promise<Run> =>
    promisify(execFile)(process.execPath, ['--import', '@oxc-node/core/register', 'src/main.ts', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: env.databaseUrl, REDIS_PREFIX: env.prefix, LOG_LEVEL: 'silent' },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );
  /** A refusal: its exit code and its one line on stderr. */
  const refusal = (r: Run) => {
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    return [r.code, lines[0]] as const;
  };
  const code = (r: { errors?: { extensions?: Record<string, unknown> }[] }) => r.errors?.[0]?.extensions?.code;
  const cliEntries = (action: string) => api.app.db.prisma.auditEntry.findMany({ where: { action, actorType: 'SYSTEM', actorId: 'cli' }, orderBy: { seq: 'asc' } });

  it('creates users (a generated password printed once) and resets a password, ending the sessions; refusals exit 1 or 2', async () => {
    const [generated, given, shortPassword, badRole, unknown] = await Promise.all([
      run('user', 'create', '--email', 'Ops@Example.com', '--role', 'operator'),
      run('user', 'create', '--email', 'viewer-cli@example.com', '--role', 'VIEWER', '--password', 'a-given-long-password'),
      run('user', 'create', '--email', 'short@example.com', '--role', 'VIEWER', '--password', 'short'),
      run('user', 'create', '--email', 'badrole@example.com', '--role', 'ROOT'),
      run('user', 'reset-password', 'nobody@example.com'),
    ]);
    expect(generated.code).toBe(0);
    expect(generated.stdout).toMatch(/^created user [0-9a-f-]{36} \(ops@example.com, OPERATOR\)$/m);
    const password = generated.stdout.trim().split('\n').at(-1)!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(given.code).toBe(0);
    expect(given.stdout).not.toContain('a-given-long-password');
    expect(refusal(shortPassword)).toEqual([2, 'opsgraph: --password: at least 12 characters']);
    expect(refusal(badRole)).toEqual([2, "error: option '--role <role>' argument 'ROOT' is invalid. one of VIEWER, OPERATOR, ADMIN"]);
    expect(refusal(unknown)).toEqual([1, 'opsgraph: no user with email nobody@example.com']);

    const ops = await login(api.url, 'ops@example.com', password);
    expect((await gql(api.url, MeDocument, {}, bearer(ops.token))).data?.me.role).toBe('OPERATOR');
    expect((await login(api.url, 'viewer-cli@example.com', 'a-given-long-password')).token).toBeTruthy();

    const [duplicate, reset] = await Promise.all([run('user', 'create', '--email', 'ops@example.com', '--role', 'VIEWER'), run('user', 'reset-password', 'OPS@example.com')]);
    expect(refusal(duplicate)).toEqual([1, 'opsgraph: a user with this email exists']);
    expect(reset.code).toBe(0);
    const newPassword = reset.stdout.trim().split('\n').at(-1)!;
    expect(newPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(newPassword).not.toBe(password);
    // The old password and the session it opened are over; the new password works.
    expect(code(await gql(api.url, RefreshTokenDocument, { refreshToken: ops.refreshToken }))).toBe('UNAUTHENTICATED');
    expect(code(await gql(api.url, LoginDocument, { email: 'ops@example.com', password }))).toBe('UNAUTHENTICATED');
    expect((await login(api.url, 'ops@example.com', newPassword)).token).toBeTruthy();

    // Audited as the CLI, without the passwords.
    expect((await cliEntries('user.create')).map((e) => (e.after as { email: string }).email).sort()).toEqual(['ops@example.com', 'viewer-cli@example.com']);
    const updates = await cliEntries('user.update');
    expect(updates).toHaveLength(1);
    expect(updates[0]!.after).toMatchObject({ email: 'ops@example.com', password: '[REDACTED]' });
    const text = JSON.stringify(await api.app.db.prisma.auditEntry.findMany(), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    for (const secret of [password, newPassword, 'a-given-long-password']) expect(text).not.toContain(secret);
  }, 120_000);

  it('lists API keys without their secrets and revokes one; refusals exit 1 or 2', async () => {
    const admin = bearer((await login(api.url, ADMIN.email, ADMIN.password)).token);
    const created = await gql(api.url, CreateApiKeyDocument, { input: { name: 'backup job', nodeId: 'myorg/platform/prod/cluster2', scopes: ['backup'] } }, admin);
    const { apiKey, secret } = created.data!.createApiKey;
    expect(code(await gql(api.url, MeDocument, {}, bearer(secret)))).toBe('FORBIDDEN'); // a caller, though not a person
    await waitFor(async () => (await gql(api.url, ApiKeysDocument, {}, admin)).data?.apiKeys.find((k) => k.id === apiKey.id)?.lastUsedAt);

    const [list, badId, unknown] = await Promise.all([run('apikey', 'list'), run('apikey', 'revoke', 'not-a-uuid'), run('apikey', 'revoke', '00000000-0000-0000-0000-000000000000')]);
    expect(list.code).toBe(0);
    const rows = list.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(rows[0]).toEqual(['id', 'name', 'prefix', 'node', 'scopes', 'last used', 'revoked']);
    const row = rows.find((r) => r[0] === apiKey.id)!;
    expect(row.slice(0, 5)).toEqual([apiKey.id, 'backup job', apiKey.prefix, 'myorg/platform/prod/cluster2', 'backup']);
    expect(Date.parse(row[5]!)).not.toBeNaN();
    expect(row[6]).toBe('-');
    expect(list.stdout).not.toContain(secret.slice(17));
    expect(refusal(badId)).toEqual([2, 'opsgraph: <id>: not an API key id (a UUID): not-a-uuid']);
    expect(refusal(unknown)).toEqual([1, 'opsgraph: no API key with id 00000000-0000-0000-0000-000000000000']);

    const revoked = await run('apikey', 'revoke', apiKey.id);
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked API key ${apiKey.id} (backup job)\n` });
    // The server trusts a verified key for a few seconds; then it is refused.
    await waitFor(async () => (await gql(api.url, MeDocument, {}, bearer(secret))).status === 401, 10_000, 200);
    const after = await run('apikey', 'list');
    const revokedAt = after.stdout.split('\n').map((l) => l.split('\t')).find((r) => r[0] === apiKey.id)![6]!;
    expect(Date.parse(revokedAt)).not.toBeNaN();
    // Audited as the CLI.
    expect((await cliEntries('apikey.revoke')).map((e) => e.resourceId)).toEqual([apiKey.id]);
  }, 120_000);
});

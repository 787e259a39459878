import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { errorBody } from '../../src/http/envelope.js';
import { AppError } from '../../src/lib/errors.js';
import { formatPublicKeys, generateLicenseKeyPair, LicenseKeyConfigError, parsePublicKeys } from '../../src/lib/license-keys.js';
import { licenseStatus } from '../../src/modules/licenses/licenses.service.js';

const DAY = 86_400_000;

describe('LICENSE_PUBLIC_KEY', () => {
  const one = generateLicenseKeyPair();
  const two = generateLicenseKeyPair();

  it('reads PEM text, one-line values with literal \\n, named blocks and files', async () => {
    expect(parsePublicKeys(undefined)).toEqual([]);
    const [k] = parsePublicKeys(one.publicKeyPem);
    expect(k).toMatchObject({ name: null, thumbprint: one.thumbprint });
    const oneLine = `kid: 2025\n${one.publicKeyPem}# kid: 2026\n${two.publicKeyPem}`.replace(/\n/g, '\\n');
    expect(parsePublicKeys(oneLine).map((x) => [x.name, x.thumbprint])).toEqual([
      ['2025', one.thumbprint],
      ['2026', two.thumbprint],
    ]);
    const dir = await mkdtemp(path.join(tmpdir(), 'opsgraph-keys-'));
    try {
      await writeFile(path.join(dir, 'a.pem'), one.publicKeyPem);
      await writeFile(path.join(dir, 'b.pem'), `kid: next\n${two.publicKeyPem}`);
      expect(parsePublicKeys(`${path.join(dir, 'a.pem')}, ${path.join(dir, 'b.pem')}`).map((x) => x.name)).toEqual([null, 'next']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses what cannot verify Ed25519 licenses, naming the variable at start', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => parsePublicKeys(rsa)).toThrow(/not Ed25519/);
    expect(() => parsePublicKeys('/no/such/file.pem')).toThrow(LicenseKeyConfigError);
    expect(() => parsePublicKeys('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----')).toThrow(/not a valid PEM/);
    expect(() => parsePublicKeys(`kid: a\n${one.publicKeyPem}kid: a\n${two.publicKeyPem}`)).toThrow(/share one kid/);
    expect(() => loadConfig({ LICENSE_PUBLIC_KEY: rsa })).toThrow(ConfigError);
    expect(() => loadConfig({ LICENSE_PUBLIC_KEY: rsa })).toThrow(/LICENSE_PUBLIC_KEY: key 1 is rsa/);
    expect(loadConfig({ LICENSE_PUBLIC_KEY: one.publicKeyPem }).LICENSE_PUBLIC_KEY).toBe(one.publicKeyPem);
  });

  it('refuses a private key without echoing it, and reads no file when told not to (setLicensePublicKey)', () => {
    const body = one.privateKeyPem.split('\n')[1]!;
    expect(() => parsePublicKeys(one.privateKeyPem)).toThrow(/LICENSE_PUBLIC_KEY: this is a private key/);
    expect(() => loadConfig({ LICENSE_PUBLIC_KEY: one.privateKeyPem })).toThrow(ConfigError);
    try {
      parsePublicKeys(`${one.publicKeyPem}${one.privateKeyPem}`, { source: 'publicKey', files: false });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/^publicKey: this is a private key/);
      expect((err as Error).message).not.toContain(body);
    }
    expect(() => parsePublicKeys('/etc/hostname', { source: 'publicKey', files: false })).toThrow(/^publicKey: no "-----BEGIN PUBLIC KEY-----" block found$/);
  });

  it('formatPublicKeys writes what parsePublicKeys reads back, names included', () => {
    const keys = parsePublicKeys(`kid: a\n${one.publicKeyPem}${two.publicKeyPem}`);
    expect(parsePublicKeys(formatPublicKeys(keys), { files: false }).map((k) => [k.name, k.thumbprint])).toEqual([
      ['a', one.thumbprint],
      [null, two.thumbprint],
    ]);
  });
});

describe('license status', () => {
  it('ACTIVE, EXPIRING within the warning window, EXPIRED from expiresAt on', () => {
    const expiresAt = new Date('2026-03-01T00:00:00.000Z');
    const at = (ms: number) => licenseStatus({ expiresAt }, new Date(expiresAt.getTime() + ms), 14);
    expect(at(-15 * DAY)).toBe('ACTIVE');
    expect(at(-14 * DAY)).toBe('EXPIRING');
    expect(at(-1)).toBe('EXPIRING');
    expect(at(0)).toBe('EXPIRED');
  });
});

describe('LICENSE_REQUIRED over REST', () => {
  it('is 403 ERR_1004 with details.plugin', () => {
    const err = new AppError('LICENSE_REQUIRED', 'the audit plugin needs a license: no license is active', { plugin: 'audit' });
    expect(err.http).toBe(403);
    expect(errorBody(err).error).toEqual({ code: 'ERR_1004', message: 'the audit plugin needs a license: no license is active', details: { plugin: 'audit' } });
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertNodeAccess, authorize } from '../../src/auth/guards.js';
import { hashPassword, verifyPassword } from '../../src/auth/passwords.js';
import type { Principal } from '../../src/auth/roles.js';
import { apiKeyMatches, newApiKey, parseApiKey } from '../../src/auth/tokens.js';
import { clientKey } from '../../src/lib/ip.js';
import { pageInfo, resolvePage } from '../../src/lib/pagination.js';

const user = (role: 'VIEWER' | 'OPERATOR' | 'ADMIN'): Principal => ({ kind: 'user', userId: 'u', email: 'e', role, expiresAt: new Date() });
const key = (nodeId: string | null): Principal => ({ kind: 'apiKey', keyId: 'k', name: 'n', nodeId, scopes: [] });
const codeOf = (fn: () => void) => {
  try {
    fn();
    return 'OK';
  } catch (err) {
    return (err as { code: string }).code;
  }
};

describe('authorize', () => {
  it('orders roles and separates people from agents', () => {
    expect(codeOf(() => authorize(undefined, 'PUBLIC'))).toBe('OK');
    expect(codeOf(() => authorize(undefined, 'VIEWER'))).toBe('UNAUTHENTICATED');
    expect(codeOf(() => authorize(user('VIEWER'), 'OPERATOR'))).toBe('FORBIDDEN');
    expect(codeOf(() => authorize(user('OPERATOR'), 'OPERATOR'))).toBe('OK');
    expect(codeOf(() => authorize(user('ADMIN'), 'VIEWER'))).toBe('OK');
    expect(codeOf(() => authorize(key(null), 'VIEWER'))).toBe('FORBIDDEN');
    expect(codeOf(() => authorize(key(null), 'AGENT'))).toBe('OK');
    expect(codeOf(() => authorize(user('ADMIN'), 'AGENT'))).toBe('FORBIDDEN');
  });

  it('keeps a node-bound key to its node', () => {
    expect(codeOf(() => assertNodeAccess(key('org/a'), 'org/a'))).toBe('OK');
    expect(codeOf(() => assertNodeAccess(key('org/a'), 'org/b'))).toBe('FORBIDDEN');
    expect(codeOf(() => assertNodeAccess(key(null), 'org/b'))).toBe('OK');
  });
});

describe('secrets', () => {
  it('hashes passwords with a per-user salt and verifies only the right one', async () => {
    const [a, b] = await Promise.all([hashPassword('correct horse'), hashPassword('correct horse')]);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct horsE', a)).toBe(false);
    expect(await verifyPassword('x', 'garbage')).toBe(false);
  });

  it('makes API keys of 256 random bits that parse and match only themselves', () => {
    const k = newApiKey();
    expect(parseApiKey(k.secret)).toEqual({ prefix: k.prefix });
    expect(apiKeyMatches(k.secret, k.hash)).toBe(true);
    expect(apiKeyMatches(newApiKey().secret, k.hash)).toBe(false);
    expect(parseApiKey('opk_short')).toBeNull();
    expect(Buffer.from(k.secret.split('_').slice(2).join('_'), 'base64url')).toHaveLength(32);
  });
});

describe('clientKey', () => {
  it('keys IPv4 by address and IPv6 by /56', () => {
    expect(clientKey('203.0.113.9')).toBe('203.0.113.9');
    expect(clientKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(clientKey('2001:db8:abcd:12ff:1:2:3:4')).toBe('2001:db8:abcd:1200::/56');
    expect(clientKey('2001:db8:abcd:1234::1')).toBe(clientKey('2001:db8:abcd:12aa:ffff::9'));
    expect(clientKey('2001:db8:abcd:1334::1')).not.toBe(clientKey('2001:db8:abcd:1234::1'));
    expect(clientKey('::1')).toBe('0:0:0:0::/56');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/56');
    expect(clientKey(undefined)).toBe('unknown');
    expect(clientKey('not an ip')).toBe('unknown');
  });

  it('gives every address in a /56 the same key', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.integer({ min: 0, max: 255 }), fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 4, maxLength: 4 }), (ip, low, rest) => {
        const full = clientKey(ip);
        if (full === 'unknown' || !full.endsWith('/56')) return;
        const [g0, g1, g2, g3] = full.replace('::/56', '').split(':').map((h) => parseInt(h, 16)) as [number, number, number, number];
        const sibling = [g0, g1, g2, g3 | low, ...rest].map((g) => g.toString(16)).join(':');
        expect(clientKey(sibling)).toBe(full);
      }),
    );
  });
});

describe('pagination', () => {
  it('clamps page and limit and reports neighbours', () => {
    expect(resolvePage({ page: 0, limit: 1000 }, ['at'] as const, 'at')).toMatchObject({ page: 1, limit: 100, skip: 0, order: 'desc' });
    expect(resolvePage({ page: 3, limit: 10, sort: 'nope', order: 'asc' }, ['at'] as const, 'at')).toMatchObject({ skip: 20, sort: 'at', order: 'asc' });
    expect(pageInfo(150, 1, 20)).toEqual({ page: 1, limit: 20, total: 150, pages: 8, hasNext: true, hasPrev: false });
    expect(pageInfo(0, 1, 20)).toEqual({ page: 1, limit: 20, total: 0, pages: 0, hasNext: false, hasPrev: false });
  });
});

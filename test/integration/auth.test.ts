import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiKeysDocument,
  ChangePasswordDocument,
  CreateApiKeyDocument,
  CreateUserDocument,
  LoginDocument,
  LogoutDocument,
  MeDocument,
  RefreshTokenDocument,
  RevokeApiKeyDocument,
  SecurityEventsDocument,
  UpdateUserDocument,
  UsersDocument,
} from '../generated/graphql.js';
import { ADMIN, bearer, createTestEnv, gql, login, tokenFor, waitFor, type TestApp, type TestEnv } from '../support/harness.js';

const SECRET = 'test-secret-that-is-at-least-32-bytes-long!';
let env: TestEnv;
let api: TestApp;
let admin: string;

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'api', overrides: { JWT_SECRET: SECRET } });
  admin = await tokenFor(api, 'ADMIN');
});
afterAll(() => env.cleanup());

const code = (r: { errors?: { extensions?: Record<string, unknown> }[] }) => r.errors?.[0]?.extensions?.code;

async function newUser(email: string, role: 'VIEWER' | 'OPERATOR' | 'ADMIN' = 'VIEWER', password = 'a-long-enough-password') {
  const r = await gql(api.url, CreateUserDocument, { input: { email, password, role } }, bearer(admin));
  expect(r.errors).toBeUndefined();
  return { id: r.data!.createUser.id, email, password };
}

async function craft(claims: Record<string, unknown>, opts: { secret?: string; typ?: string; exp?: number; aud?: string; iss?: string; sub?: string } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'ADMIN', email: ADMIN.email, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: opts.typ ?? 'at+jwt' })
    .setSubject(opts.sub ?? (await login(api.url, ADMIN.email, ADMIN.password)).userId)
    .setIssuer(opts.iss ?? 'opsgraph')
    .setAudience(opts.aud ?? 'opsgraph-api')
    .setIssuedAt(now - 10)
    .setExpirationTime(opts.exp ?? now + 600)
    .sign(new TextEncoder().encode(opts.secret ?? SECRET));
}

describe('login and me', () => {
  it('logs in with a case-insensitive email and answers me', async () => {
    const u = await newUser('Alice@Example.com');
    const s = await login(api.url, 'ALICE@example.COM', u.password);
    const me = await gql(api.url, MeDocument, {}, bearer(s.token));
    expect(me.data?.me).toMatchObject({ email: 'alice@example.com', role: 'VIEWER', disabled: false });
  });

  it('refuses a wrong password and an unknown email alike', async () => {
    const wrong = await gql(api.url, LoginDocument, { email: ADMIN.email, password: 'not-the-password' });
    const unknown = await gql(api.url, LoginDocument, { email: 'nobody@example.com', password: 'whatever-password' });
    expect(code(wrong)).toBe('UNAUTHENTICATED');
    expect(code(unknown)).toBe('UNAUTHENTICATED');
    expect(wrong.errors?.[0]?.message).toBe(unknown.errors?.[0]?.message);
  });

  it('refuses a duplicate email with CONFLICT naming the field', async () => {
    await newUser('dup@example.com');
    const again = await gql(api.url, CreateUserDocument, { input: { email: 'DUP@example.com', password: 'a-long-enough-password', role: 'VIEWER' } }, bearer(admin));
    expect(code(again)).toBe('CONFLICT');
    expect(again.errors?.[0]?.extensions?.field).toBe('email');
  });

  it('validates input and names the field', async () => {
    const r = await gql(api.url, CreateUserDocument, { input: { email: 'not-an-email', password: 'short', role: 'VIEWER' } }, bearer(admin));
    expect(code(r)).toBe('BAD_USER_INPUT');
    const fields = (r.errors?.[0]?.extensions?.fields as { field: string }[]).map((f) => f.field).sort();
    expect(fields).toEqual(['email', 'password']);
  });

  it('cuts off a disabled user at the next request, token or not, and keeps one admin at least', async () => {
    const u = await newUser('bob@example.com');
    const s = await login(api.url, u.email, u.password);
    expect((await gql(api.url, MeDocument, {}, bearer(s.token))).data?.me.email).toBe(u.email);
    await gql(api.url, UpdateUserDocument, { id: u.id, input: { disabled: true } }, bearer(admin));
    const after = await gql(api.url, MeDocument, {}, bearer(s.token));
    expect(after.status).toBe(401);
    expect(code(after)).toBe('UNAUTHENTICATED');
    expect(code(await gql(api.url, RefreshTokenDocument, { refreshToken: s.refreshToken }))).toBe('UNAUTHENTICATED');
    expect(code(await gql(api.url, LoginDocument, { email: u.email, password: u.password }))).toBe('UNAUTHENTICATED');

    const adminId = (await login(api.url, ADMIN.email, ADMIN.password)).userId;
    const demote = await gql(api.url, UpdateUserDocument, { id: adminId, input: { role: 'VIEWER' } }, bearer(admin));
    expect(code(demote)).toBe('CONFLICT');
    expect((await gql(api.url, UsersDocument, {}, bearer(admin))).data?.users.find((x) => x.id === adminId)?.role).toBe('ADMIN');
  });
});

describe('refresh tokens', () => {
  it('rotates on every use; reusing a used token revokes the whole family', async () => {
    const u = await newUser('carol@example.com');
    const first = await login(api.url, u.email, u.password);
    const second = await gql(api.url, RefreshTokenDocument, { refreshToken: first.refreshToken });
    expect(second.errors).toBeUndefined();
    const r2 = second.data!.refreshToken.refreshToken;
    expect(r2).not.toBe(first.refreshToken);
    const third = await gql(api.url, RefreshTokenDocument, { refreshToken: r2 });
    const r3 = third.data!.refreshToken.refreshToken;

    // The first token again: theft assumed, the family dies, including the newest token.
    expect(code(await gql(api.url, RefreshTokenDocument, { refreshToken: first.refreshToken }))).toBe('UNAUTHENTICATED');
    expect(code(await gql(api.url, RefreshTokenDocument, { refreshToken: r3 }))).toBe('UNAUTHENTICATED');
    const events = await gql(api.url, SecurityEventsDocument, { filter: { type: 'refresh_token_reuse' } }, bearer(admin));
    expect(events.data?.securityEvents.items.some((e) => e.actor === u.email)).toBe(true);

    // Another session of the same user is untouched.
    const other = await login(api.url, u.email, u.password);
    expect((await gql(api.url, RefreshTokenDocument, { refreshToken: other.refreshToken })).errors).toBeUndefined();
  });

  it('lets exactly one of two concurrent refreshes of the same token succeed', async () => {
    const u = await newUser('dave@example.com');
    const s = await login(api.url, u.email, u.password);
    const results = await Promise.all([1, 2, 3].map(() => gql(api.url, RefreshTokenDocument, { refreshToken: s.refreshToken })));
    const winners = results.filter((r) => r.data?.refreshToken);
    expect(winners.length).toBe(1);
    // The losers presented a used token: the family is revoked, the winner's successor with it.
    expect(code(await gql(api.url, RefreshTokenDocument, { refreshToken: winners[0]!.data!.refreshToken.refreshToken }))).toBe('UNAUTHENTICATED');
  });

  it('refreshes even when the client still sends its expired access token', async () => {
    const u = await newUser('gina@example.com');
    const s = await login(api.url, u.email, u.password);
    const expired = await craft({}, { exp: Math.floor(Date.now() / 1000) - 120 });
    const r = await gql(api.url, RefreshTokenDocument, { refreshToken: s.refreshToken }, bearer(expired));
    expect(r.errors).toBeUndefined();
    expect(r.data?.refreshToken.token).toBeTruthy();
  });

  it('logout ends the session', async () => {
    const u = await newUser('erin@example.com');
    const s = await login(api.url, u.email, u.password);
    expect((await gql(api.url, LogoutDocument, { refreshToken: s.refreshToken })).data?.logout).toBe(true);
    expect(code(await gql(api.url, RefreshTokenDocument, { refreshToken: s.refreshToken }))).toBe('UNAUTHENTICATED');
  });
});

describe('access tokens', () => {
  it('accepts a well-formed token', async () => {
    expect((await gql(api.url, MeDocument, {}, bearer(await craft({})))).data?.me.email).toBe(ADMIN.email);
  });

  it.each([
    ['expired', () => craft({}, { exp: Math.floor(Date.now() / 1000) - 120 })],
    ['signed with another key', () => craft({}, { secret: 'another-secret-that-is-32-bytes-long!!' })],
    ['for another audience', () => craft({}, { aud: 'someone-else' })],
    ['from another issuer', () => craft({}, { iss: 'evil' })],
    ['of another type', () => craft({}, { typ: 'JWT' })],
    ['tampered', async () => {
      const [h, p, sig] = (await craft({})).split('.');
      const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
      return [h, Buffer.from(JSON.stringify({ ...payload, role: 'ADMIN', sub: '00000000-0000-0000-0000-000000000000' })).toString('base64url'), sig].join('.');
    }],
    ['alg none', async () => {
      const [, p] = (await craft({})).split('.');
      return `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${p}.`;
    }],
    ['garbage', async () => 'not.a.jwt'],
  ])('refuses a token %s with 401 UNAUTHENTICATED', async (_name, make) => {
    const r = await gql(api.url, MeDocument, {}, bearer(await make()));
    expect(r.status).toBe(401);
    expect(code(r)).toBe('UNAUTHENTICATED');
  });
});

describe('login brute force', () => {
  it('locks an email+address pair after 5 failures, even for the right password, and records it', async () => {
    const u = await newUser('frank@example.com');
    for (let i = 0; i < 5; i++) {
      expect(code(await gql(api.url, LoginDocument, { email: u.email, password: 'wrong-password-guess' }))).toBe('UNAUTHENTICATED');
    }
    const locked = await gql(api.url, LoginDocument, { email: u.email, password: u.password });
    expect(code(locked)).toBe('RATE_LIMITED');
    expect(locked.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(800);
    // Another account from the same address is not affected.
    expect((await login(api.url, ADMIN.email, ADMIN.password)).token).toBeTruthy();

    const events = await gql(api.url, SecurityEventsDocument, { filter: { actor: u.email } }, bearer(admin));
    const types = events.data!.securityEvents.items.map((e) => e.type);
    expect(types.filter((t) => t === 'login_failed')).toHaveLength(5);
    expect(types).toContain('login_locked');
  });
});

describe('API keys', () => {
  it('shows the secret once, authenticates with it, tracks use, and stops working once revoked', async () => {
    const created = await gql(api.url, CreateApiKeyDocument, { input: { name: 'cluster1 operator', nodeId: 'myorg/platform/prod/cluster1' } }, bearer(admin));
    const { apiKey, secret } = created.data!.createApiKey;
    expect(secret).toMatch(/^opk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(secret.startsWith(`opk_${apiKey.prefix}_`)).toBe(true);
    expect(apiKey.nodeId).toBe('myorg/platform/prod/cluster1');
    const listed = await gql(api.url, ApiKeysDocument, {}, bearer(admin));
    expect(JSON.stringify(listed.data)).not.toContain(secret.slice(17));

    // A valid key is a caller, but not a person: GraphQL fields for people are FORBIDDEN to it.
    const asKey = await gql(api.url, MeDocument, {}, bearer(secret));
    expect(code(asKey)).toBe('FORBIDDEN');
    await waitFor(async () => (await gql(api.url, ApiKeysDocument, {}, bearer(admin))).data?.apiKeys.find((k) => k.id === apiKey.id)?.lastUsedAt);

    const wrongSecret = `${secret.slice(0, -4)}AAAA`;
    const bad = await gql(api.url, MeDocument, {}, bearer(wrongSecret));
    expect(bad.status).toBe(401);

    expect((await gql(api.url, RevokeApiKeyDocument, { id: apiKey.id }, bearer(admin))).data?.revokeApiKey).toBe(true);
    const revoked = await gql(api.url, MeDocument, {}, bearer(secret));
    expect(revoked.status).toBe(401);
    expect(code(revoked)).toBe('UNAUTHENTICATED');
    const events = await gql(api.url, SecurityEventsDocument, { filter: { type: 'api_key_rejected' } }, bearer(admin));
    expect(events.data!.securityEvents.items.map((e) => (e.details as { reason: string }).reason).sort()).toEqual(['mismatch', 'revoked']);
  });

  it('answers NOT_FOUND for revoking an unknown key', async () => {
    const r = await gql(api.url, RevokeApiKeyDocument, { id: '00000000-0000-0000-0000-000000000000' }, bearer(admin));
    expect(code(r)).toBe('NOT_FOUND');
  });
});

describe('changePassword', () => {
  const change = (token: string, currentPassword: string, newPassword: string) => gql(api.url, ChangePasswordDocument, { currentPassword, newPassword }, bearer(token));

  it('checks the current password, keeps this session, ends the others, and audits without the password', async () => {
    const u = await newUser('hank@example.com');
    const here = await login(api.url, u.email, u.password);
    const elsewhere = await login(api.url, u.email, u.password);
    const newPassword = 'a-brand-new-password';

    const wrong = await change(here.token, 'not-my-password', newPassword);
    expect(code(wrong)).toBe('BAD_USER_INPUT');
    expect(wrong.errors?.[0]?.extensions?.field).toBe('currentPassword');
    const same = await change(here.token, u.password, u.password);
    expect(code(same)).toBe('BAD_USER_INPUT');
    expect(same.errors?.[0]?.extensions?.field).toBe('newPassword');
    const short = await change(here.token, u.password, 'too-short');
    expect(code(short)).toBe('BAD_USER_INPUT');
    expect((short.errors?.[0]?.extensions?.fields as { field: string }[]).map((f) => f.field)).toEqual(['newPassword']);
    // Nothing changed so far: the old password still logs in (a third session, ended below like the second).
    expect((await gql(api.url, LoginDocument, { email: u.email, password: u.password })).errors).toBeUndefined();

    const ok = await change(here.token, u.password, newPassword);
    expect(ok.errors).toBeUndefined();
    expect(ok.data?.changePassword).toBe(true);

    expect(code(await gql(api.url, LoginDocument, { email: u.email, password: u.password }))).toBe('UNAUTHENTICATED');
    expect((await login(api.url, u.email, newPassword)).token).toBeTruthy();
    // The other session is over; this one carries on, refresh after refresh.
    expect(code(await gql(api.url, RefreshTokenDocument, { refreshToken: elsewhere.refreshToken }))).toBe('UNAUTHENTICATED');
    const renewed = await gql(api.url, RefreshTokenDocument, { refreshToken: here.refreshToken });
    expect(renewed.errors).toBeUndefined();
    expect((await gql(api.url, RefreshTokenDocument, { refreshToken: renewed.data!.refreshToken.refreshToken })).errors).toBeUndefined();

    const entries = await api.app.db.prisma.auditEntry.findMany({ where: { resourceId: u.id, action: 'user.password_change' } });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actorType: 'USER', actorId: u.id, resourceType: 'user', after: { email: u.email, sessionsEnded: 2, currentSessionKept: true } });
    const text = JSON.stringify(entries, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    for (const secret of [u.password, newPassword, 'not-my-password']) expect(text).not.toContain(secret);

    // The wrong guess is a failed login in the security log, marked as this surface.
    const events = await gql(api.url, SecurityEventsDocument, { filter: { actor: u.email, type: 'login_failed' } }, bearer(admin));
    expect(events.data!.securityEvents.items.map((e) => e.details)).toContainEqual(expect.objectContaining({ reason: 'bad_password', via: 'change_password' }));
  });

  it('counts wrong current passwords towards the login lockout', async () => {
    const u = await newUser('ivan@example.com');
    const s = await login(api.url, u.email, u.password);
    for (let i = 0; i < 5; i++) expect(code(await change(s.token, `wrong-guess-${i}`, 'another-long-password'))).toBe('BAD_USER_INPUT');
    expect(code(await change(s.token, u.password, 'another-long-password'))).toBe('RATE_LIMITED');
    expect(code(await gql(api.url, LoginDocument, { email: u.email, password: u.password }))).toBe('RATE_LIMITED');
  });

  it('ends every session when the access token names none', async () => {
    const u = await newUser('judy@example.com');
    const a = await login(api.url, u.email, u.password);
    const b = await login(api.url, u.email, u.password);
    // An access token as signed before tokens named their session (no sid).
    const legacy = await craft({ role: 'VIEWER', email: u.email }, { sub: u.id });
    expect((await change(legacy, u.password, 'a-brand-new-password')).data?.changePassword).toBe(true);
    for (const r of [a, b]) expect(code(await gql(api.url, RefreshTokenDocument, { refreshToken: r.refreshToken }))).toBe('UNAUTHENTICATED');
    const entry = await api.app.db.prisma.auditEntry.findFirst({ where: { resourceId: u.id, action: 'user.password_change' } });
    expect(entry?.after).toMatchObject({ sessionsEnded: 2, currentSessionKept: false });
  });

  it('is for people, not API keys, and needs a sign-in', async () => {
    const { secret } = (await gql(api.url, CreateApiKeyDocument, { input: { name: 'not a person' } }, bearer(admin))).data!.createApiKey;
    expect(code(await change(secret, 'whatever-password', 'another-long-password'))).toBe('FORBIDDEN');
    expect(code(await gql(api.url, ChangePasswordDocument, { currentPassword: 'whatever-password', newPassword: 'another-long-password' }))).toBe('UNAUTHENTICATED');
  });
});

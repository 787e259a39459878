import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangePasswordDocument, CreateUserDocument, MeDocument, SecurityEventsDocument } from '../generated/graphql.js';
import { ADMIN, bearer, createTestEnv, gql, login, tokenFor, type TestApp, type TestEnv } from '../support/harness.js';

/** The Bull Board sign-in: /admin/login sets an admin session cookie that /admin/queues accepts. */
let env: TestEnv;
let api: TestApp;
let admin: string;

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'api', overrides: { BULL_BOARD_ENABLED: 'true' } });
  admin = await tokenFor(api, 'ADMIN');
});
afterAll(() => env.cleanup());

const sameOrigin = () => ({ origin: api.url, 'sec-fetch-site': 'same-origin' });

function signIn(email: string, password: string, headers: Record<string, string> = sameOrigin()) {
  return fetch(`${api.url}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ email, password }).toString(),
  });
}

/** Signs in and answers the cookie as a browser would send it back, with the Set-Cookie it came from. */
async function adminCookie(email = ADMIN.email, password = ADMIN.password): Promise<{ cookie: string; setCookie: string }> {
  const res = await signIn(email, password);
  expect(res.status).toBe(303);
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('opsgraph_admin='))!;
  expect(setCookie).toBeTruthy();
  return { cookie: setCookie.split(';')[0]!, setCookie };
}

const queues = (path = '', headers: Record<string, string> = {}) => fetch(`${api.url}/admin/queues${path}`, { redirect: 'manual', headers });

async function securityEvents(actor: string) {
  const r = await gql(api.url, SecurityEventsDocument, { filter: { actor } }, bearer(admin));
  return r.data!.securityEvents.items;
}

async function newUser(email: string, role: 'VIEWER' | 'ADMIN', password = 'a-long-enough-password') {
  const r = await gql(api.url, CreateUserDocument, { input: { email, password, role } }, bearer(admin));
  expect(r.errors).toBeUndefined();
  return { email, password };
}

describe('/admin/queues without credentials', () => {
  it('is refused: 401 for a client, a redirect to the sign-in for a browser', async () => {
    const res = await queues();
    expect(res.status).toBe(401);
    expect((await res.json()) as unknown).toMatchObject({ success: false, error: { code: 'ERR_1003' } });
    const browser = await queues('', { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    expect(browser.status).toBe(303);
    expect(browser.headers.get('location')).toBe('/admin/login');
    expect((await queues('/api/queues')).status).toBe(401);
  });

  it('still takes an admin bearer token, and refuses a non-admin one', async () => {
    expect((await queues('', bearer(admin))).status).toBe(200);
    expect((await queues('', bearer(await tokenFor(api, 'OPERATOR')))).status).toBe(403);
  });
});

describe('GET /admin/login', () => {
  it('is a small HTML form that runs no script', async () => {
    const res = await fetch(`${api.url}/admin/login`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain('<form method="post" action="/admin/login">');
    expect(html).toContain('name="email"');
    expect(html).toContain('type="password"');
    expect(html).not.toContain('<script');
  });
});

describe('POST /admin/login', () => {
  it('refuses a VIEWER (no cookie) and records it like a failed login', async () => {
    const viewer = await newUser('viewer-board@example.com', 'VIEWER');
    const res = await signIn(viewer.email, viewer.password);
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(await res.text()).toContain('Only admins may sign in here.');
    expect((await securityEvents(viewer.email)).map((e) => [e.type, e.details])).toContainEqual(['login_failed', { reason: 'not_admin', via: 'admin_login' }]);
  });

  it('refuses a wrong password (recorded) and locks out like a login', async () => {
    const other = await newUser('admin-two@example.com', 'ADMIN');
    const wrong = await signIn(other.email, 'not-the-password');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.getSetCookie()).toEqual([]);
    expect(await wrong.text()).toContain('value="admin-two@example.com"');
    expect((await securityEvents(other.email)).map((e) => e.details)).toContainEqual(expect.objectContaining({ reason: 'bad_password', via: 'admin_login' }));
    for (let i = 0; i < 4; i++) expect((await signIn(other.email, 'not-the-password')).status).toBe(401);
    const locked = await signIn(other.email, other.password);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('answers 400 without email or password', async () => {
    expect((await signIn('', '')).status).toBe(400);
  });

  it('signs an admin in: an HttpOnly, SameSite=Strict, Path=/admin cookie, then the board and its assets by cookie alone', async () => {
    const { cookie, setCookie } = await adminCookie();
    const attributes = setCookie.split(';').map((a) => a.trim().toLowerCase());
    expect(attributes).toContain('httponly');
    expect(attributes).toContain('samesite=strict');
    expect(attributes).toContain('path=/admin');
    expect(attributes.some((a) => a.startsWith('expires='))).toBe(true);
    // Plain http in a test: not Secure (https or production would be).
    expect(attributes).not.toContain('secure');

    const page = await queues('', { cookie });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    // Assets are relative to <base href="/admin/queues/">.
    expect(html).toContain('<base href="/admin/queues/"');
    const asset = /src="(static\/js\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset, 'a static asset in the board page').toBeTruthy();
    const file = await fetch(`${api.url}/admin/queues/${asset}`, { headers: { cookie } });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${api.url}/admin/queues/${asset}`)).status).toBe(401);
    const list = await queues('/api/queues', { cookie });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { queues: unknown[] }).queues.length).toBeGreaterThan(0);

    // The cookie is no bearer token for the API.
    const token = decodeURIComponent(cookie.split('=')[1]!);
    expect((await gql(api.url, MeDocument, {}, bearer(token))).status).toBe(401);
    // The sign-in page now offers to open the board or to sign out.
    expect(await (await fetch(`${api.url}/admin/login`, { headers: { cookie } })).text()).toContain('Signed in as admin@opsgraph.test');
  });

  it('sets Secure on https (behind a trusted proxy)', async () => {
    const proxied = await env.startApp({ role: 'api', overrides: { BULL_BOARD_ENABLED: 'true', TRUST_PROXY: 'true' } });
    try {
      const res = await fetch(`${proxied.url}/admin/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
        body: new URLSearchParams({ email: ADMIN.email, password: ADMIN.password }).toString(),
      });
      expect(res.status).toBe(303);
      expect(res.headers.getSetCookie()[0]!.split(';').map((a) => a.trim().toLowerCase())).toContain('secure');
    } finally {
      await proxied.stop();
    }
  });
});

describe('cross-site requests', () => {
  it('refuses a sign-in posted from another site, and records it', async () => {
    const res = await signIn(ADMIN.email, ADMIN.password, { origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect((await signIn(ADMIN.email, ADMIN.password, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const events = await securityEvents(ADMIN.email);
    expect(events.map((e) => e.details)).toContainEqual(expect.objectContaining({ reason: 'cross_site', via: 'admin_login' }));
  });

  it('refuses a cross-site sign-out and cross-site changes to the board; the session survives', async () => {
    const { cookie } = await adminCookie();
    const logout = await fetch(`${api.url}/admin/logout`, { method: 'POST', redirect: 'manual', headers: { cookie, origin: 'https://evil.example' } });
    expect(logout.status).toBe(403);
    const pause = await fetch(`${api.url}/admin/queues/api/queues/pause`, { method: 'PUT', headers: { cookie, origin: 'https://evil.example' } });
    expect(pause.status).toBe(403);
    expect(((await pause.json()) as { error: { message: string } }).error.message).toMatch(/cross-site request refused/);
    // The board's own calls, from this origin, go through.
    expect((await fetch(`${api.url}/admin/queues/api/queues/resume`, { method: 'PUT', headers: { cookie, ...sameOrigin() } })).status).toBe(200);
    expect((await queues('', { cookie })).status).toBe(200);
  });
});

describe('POST /admin/logout', () => {
  it('clears the cookie and ends the session, so the old cookie stops working', async () => {
    const { cookie } = await adminCookie();
    expect((await queues('', { cookie })).status).toBe(200);
    const res = await fetch(`${api.url}/admin/logout`, { method: 'POST', redirect: 'manual', headers: { cookie, ...sameOrigin() } });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/login');
    const cleared = res.headers.getSetCookie().find((c) => c.startsWith('opsgraph_admin='))!;
    expect(cleared).toMatch(/^opsgraph_admin=;/);
    expect(cleared.toLowerCase()).toMatch(/expires=thu, 01 jan 1970/);
    expect(cleared.toLowerCase()).toContain('path=/admin');
    // A copy of the cookie kept anyway is refused: the session ended on the server.
    expect((await queues('', { cookie })).status).toBe(401);
    const ended = await api.app.db.prisma.auditEntry.findFirst({ where: { action: 'auth.logout' }, orderBy: { seq: 'desc' } });
    expect(ended?.actorType).toBe('USER');
  });

  it('a password change in another session ends the admin session too', async () => {
    const other = await newUser('admin-three@example.com', 'ADMIN');
    const { cookie } = await adminCookie(other.email, other.password);
    expect((await queues('', { cookie })).status).toBe(200);
    const s = await login(api.url, other.email, other.password);
    expect((await gql(api.url, ChangePasswordDocument, { currentPassword: other.password, newPassword: 'a-new-long-password' }, bearer(s.token))).data?.changePassword).toBe(true);
    expect((await queues('', { cookie })).status).toBe(401);
  });
});

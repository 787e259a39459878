import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestApp, type TestEnv } from '../support/harness.js';

/** Client mistakes are client errors with a clear message, in the usual shapes. */
let env: TestEnv;
let api: TestApp;

beforeAll(async () => {
  env = await createTestEnv();
  api = await env.startApp({ role: 'api' });
});
afterAll(() => env.cleanup());

const post = async (body: unknown) => {
  const res = await fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] } };
};

describe('client mistakes', () => {
  it('a persisted query whose hash does not match answers 400 with what is wrong', async () => {
    const r = await post({ query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } });
    expect(r.status).toBe(400);
    expect(r.body.errors?.[0]?.message).toMatch(/sha|hash/i);
    expect(r.body.errors?.[0]?.message).not.toMatch(/Internal server error/);
  });

  it('a subscription sent over POST answers 400 saying where subscriptions go', async () => {
    const r = await post({ query: 'subscription { opsEvents { type } }' });
    expect(r.status).toBe(400);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.body.errors?.[0]?.message).toMatch(/\/graphql\/ws/);
  });

  it('oversized headers get 431 in the error envelope', async () => {
    const { port } = new URL(api.url);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/v1/audit', headers: { 'x-big': 'a'.repeat(40_000) } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.body)).toMatchObject({ success: false, error: { code: 'ERR_HEADERS_TOO_LARGE' } });
  });
});

import { randomBytes } from 'node:crypto';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, type Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import pg from 'pg';
import WebSocket from 'ws';
import { createApp, type App, type Role } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Clock } from '../../src/infra/clock.js';
import { quoteIdent } from '../../src/infra/migrations.js';
import { CreateUserDocument, LoginDocument } from '../generated/graphql.js';
import { adminUrl, baseDatabaseUrl, REDIS_URL, TEMPLATE_DB, TEST_PREFIX } from './env.js';
import { TEST_LICENSE_KEYS } from './license.js';

/**
 * One isolated world per test file: its own database cloned from the migrated
 * template and its own Redis prefix, so files run in parallel without seeing
 * each other's rows, jobs or events.
 */
/** The first admin every test app is started with. */
export const ADMIN = { email: 'admin@opsgraph.test', password: 'correct-horse-battery' };

export interface TestEnv {
  databaseUrl: string;
  prefix: string;
  config(overrides?: Record<string, string>): Config;
  startApp(options?: { role?: Role; clock?: Clock; overrides?: Record<string, string> }): Promise<TestApp>;
  cleanup(): Promise<void>;
}

export interface TestApp {
  app: App;
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

export async function createTestEnv(): Promise<TestEnv> {
  const id = randomBytes(5).toString('hex');
  const database = `${TEST_PREFIX}_${id}`;
  const prefix = `${TEST_PREFIX}_${id}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${quoteIdent(database)} TEMPLATE ${quoteIdent(TEMPLATE_DB)}`));
  const databaseUrl = baseDatabaseUrl(database);
  const apps: TestApp[] = [];

  const config = (overrides: Record<string, string> = {}) =>
    loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      REDIS_PREFIX: prefix,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DATABASE_POOL_MAX: '4',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      // Tests log in far more often than a person; files that test the limits set their own.
      RATE_LIMIT_ANONYMOUS: '10000',
      // Keys signed by this process's test pair verify (test/support/license.ts); none is active until a test activates one.
      LICENSE_PUBLIC_KEY: TEST_LICENSE_KEYS.publicKeyPem,
      ...overrides,
    });

  return {
    databaseUrl,
    prefix,
    config,
    async startApp({ role = 'all', clock, overrides } = {}) {
      const app = await createApp(config(overrides), { clock });
      const { url } = await app.start(role);
      const base = url ?? '';
      const started: TestApp = { app, url: base, wsUrl: `${base.replace(/^http/, 'ws')}/graphql/ws`, stop: async () => void (await app.stop()) };
      apps.push(started);
      return started;
    },
    async cleanup() {
      await Promise.all(apps.map((a) => a.stop()));
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`));
      await deleteRedisKeys(`${prefix}:*`);
    },
  };
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function deleteRedisKeys(pattern: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export interface GqlResponse<T> {
  status: number;
  headers: Headers;
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** POSTs a typed document to `/graphql` the way a browser client would. */
export async function gql<T, V>(
  url: string,
  document: TypedDocumentNode<T, V>,
  variables?: V,
  headers: Record<string, string> = {},
): Promise<GqlResponse<T>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await res.json()) as Omit<GqlResponse<T>, 'status' | 'headers'>;
  return { status: res.status, headers: res.headers, ...body };
}

export async function login(url: string, email: string, password: string): Promise<{ token: string; refreshToken: string; userId: string }> {
  const r = await gql(url, LoginDocument, { email, password });
  if (!r.data) throw new Error(`login failed: ${JSON.stringify(r.errors)}`);
  return { token: r.data.login.token, refreshToken: r.data.login.refreshToken, userId: r.data.login.user.id };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const roleTokens = new Map<string, Promise<string>>();
/** An access token of a user with `role`, created once per app through the admin API. */
export function tokenFor(api: TestApp, role: 'VIEWER' | 'OPERATOR' | 'ADMIN'): Promise<string> {
  const key = `${api.url}:${role}`;
  let token = roleTokens.get(key);
  if (!token) {
    token = (async () => {
      const admin = await login(api.url, ADMIN.email, ADMIN.password);
      if (role === 'ADMIN') return admin.token;
      const email = `${role.toLowerCase()}@opsgraph.test`;
      const created = await gql(api.url, CreateUserDocument, { input: { email, password: 'a-long-enough-password', role } }, bearer(admin.token));
      if (created.errors) throw new Error(JSON.stringify(created.errors));
      return (await login(api.url, email, 'a-long-enough-password')).token;
    })();
    roleTokens.set(key, token);
  }
  return token;
}

export function wsClient(wsUrl: string, connectionParams?: Record<string, unknown>): Client {
  // The server going away at the end of a test is expected; errors that matter reach the subscribers.
  return createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: false, onNonLazyError: () => undefined });
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 5_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`waitFor timed out after ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
